// The broker under benchmark, in its own process: `node --import tsx bench/broker-server.ts <dataDir> <fsync>`.
// Talks to bench/broker.ts over IPC: sends {port} once listening, answers {cmd:'stats'} with CPU and memory.
import { startBroker } from '../src/lib/broker/index.js'

const [dataDir, fsyncArg = 'always'] = process.argv.slice(2)
const fsync = fsyncArg === 'always' ? 'always' : { intervalMs: Number(fsyncArg) }
const broker = await startBroker({ port: 0, dataDir, fsync })
const send = (m: unknown) => process.send?.(m)
send({ port: broker.port })
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    const cpu = process.cpuUsage()
    send({
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rss: process.memoryUsage().rss,
      maxRssKb: process.resourceUsage().maxRSS,
      stats: broker.stats(),
    })
  } else if (m.cmd === 'stop') {
    void broker.close().then(() => process.exit(0))
  }
})
