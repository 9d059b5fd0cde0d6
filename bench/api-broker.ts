// Child process for bench/api.ts: runs the embedded broker on a free port and prints "host:port".
import { startBroker } from '../src/lib/broker/index.js'

const dataDir = process.argv[2]
const broker = await startBroker({ port: 0, dataDir })
process.stdout.write(`${broker.host}:${broker.port}\n`)
process.on('SIGTERM', () => {
  broker.close().then(() => process.exit(0))
})
