// Child process for bench/api.ts: runs the embedded broker on a free port and prints "host:port".
import { startBroker } from '../src/lib/broker/index.js'

// argv: dataDir ['always' | fsync interval ms; default: the broker's, every 100 ms]
const dataDir = process.argv[2]
const policy = process.argv[3]
const fsync = policy === 'always' ? 'always' : policy ? { intervalMs: Number(policy) } : undefined
const broker = await startBroker({ port: 0, dataDir, ...(fsync ? { fsync } : {}) })
process.stdout.write(`${broker.host}:${broker.port}\n`)
process.on('SIGTERM', () => {
  broker.close().then(() => process.exit(0))
})
