// Child process for bench/api.ts: runs the embedded broker on a free port and prints "host:port".
import { startBroker } from '../src/lib/broker/index.js'

// argv: dataDir [fsync interval ms; default: fsync every append, the broker's default]
const dataDir = process.argv[2]
const fsyncMs = process.argv[3] ? Number(process.argv[3]) : undefined
const broker = await startBroker({ port: 0, dataDir, ...(fsyncMs ? { fsync: { intervalMs: fsyncMs } } : {}) })
process.stdout.write(`${broker.host}:${broker.port}\n`)
process.on('SIGTERM', () => {
  broker.close().then(() => process.exit(0))
})
