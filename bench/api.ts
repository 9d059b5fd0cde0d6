// bench/api.ts — `npx tsx bench/api.ts [--duration 10] [--connections 50]`
// (a) a bare node:http server answering a constant string, (b) `game api` producing to the embedded
// broker (broker and API each in their own child process), both under autocannon with the same
// connections and duration. Then checks that every request answered 2xx has exactly one event in Kafka.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { createKafka } from '../src/lib/kafka/client.js'
import { tailEvents } from '../src/lib/kafka/tail.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
if (process.argv.includes('--help')) {
  process.stdout.write(
    'npx tsx bench/api.ts [--duration 10] [--connections 50] [--fsync always|MS] [--prof-dir DIR] [-- <game api flags>]\n' +
      'Bare node:http vs game api -> embedded broker under autocannon; table on stderr, JSON on stdout.\n',
  )
  process.exit(0)
}
const DURATION = arg('duration', 10)
const CONNECTIONS = arg('connections', 50)
/** Broker fsync policy: 'always', an interval in ms, or '' for the broker's default (every 100 ms). */
const FSYNC = (() => {
  const i = process.argv.indexOf('--fsync')
  return i === -1 ? '' : process.argv[i + 1]
})()
/** Write V8 CPU profiles of the API and broker children into this directory (--prof-dir DIR). */
const PROF_DIR = (() => {
  const i = process.argv.indexOf('--prof-dir')
  return i === -1 ? undefined : process.argv[i + 1]
})()
const PROF_ARGS = PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROF_DIR] : []
const EXTRA = (() => {
  const i = process.argv.indexOf('--')
  return i === -1 ? [] : process.argv.slice(i + 1)
})()

const BARE = `
const http = require('node:http')
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 17 })
  res.end('Sword Purchased!\\n')
})
server.listen(0, '127.0.0.1', () => process.stdout.write('http://127.0.0.1:' + server.address().port + '\\n'))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

/** Spawns a child and resolves with the first stdout line matching `pattern`. */
function spawnUntil(
  cmd: string,
  args: string[],
  pattern: RegExp,
): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CI: '1' },
  })
  let out = ''
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d
      const m = pattern.exec(out)
      if (m) resolve({ child, match: m[1] })
    })
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)))
  })
}

function peakRssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024)
  } catch {
    return Number.NaN
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

interface Run {
  reqPerSec: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  total2xx: number
  rssMb: number
  /** CPU ms the server process(es) spent per 1000 requests answered. */
  cpuMsPer1k: number
}

async function load(url: string, pids: (number | undefined)[], acked?: Set<string>): Promise<Run> {
  let n = 0
  const cpuBefore = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0)
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        setupRequest: (req, context) => {
          const id = `b${n++}`
          ;(context as { id?: string }).id = id
          return {
            ...req,
            path: `/messages?message=${id}`,
            headers: { ...req.headers, host: `player${n % 97}` },
          }
        },
        onResponse: (status, _body, context) => {
          if (status >= 200 && status < 300) acked?.add((context as { id?: string }).id as string)
        },
      },
    ],
  })
  const cpu = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore
  return {
    cpuMsPer1k: Math.round((cpu * 1000 * 1000) / Math.max(1, result.requests.total)),
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total2xx: result['2xx'],
    rssMb: peakRssMb(pids[0]),
  }
}

const LOAD_BEFORE = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-api-'))
try {
  const bare = await spawnUntil(process.execPath, ['-e', BARE], /^(http:\S+)\n/)
  const a = await load(bare.match, [bare.child.pid])
  await stop(bare.child)

  const broker = await spawnUntil(
    process.execPath,
    [...PROF_ARGS, '--import', 'tsx', 'bench/api-broker.ts', dataDir, ...(FSYNC ? [FSYNC] : [])],
    /^(\S+:\d+)\n/,
  )
  const brokers = broker.match
  const kafka = createKafka({ brokers: [brokers] })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'game_events', numPartitions: 3 }] })
  const api = await spawnUntil(
    process.execPath,
    [...PROF_ARGS, 'bin/run.js', 'api', '--port', '0', '--brokers', brokers, ...EXTRA],
    /^(http:\S+)\n/,
  )
  const acked = new Set<string>()
  const brokerCpuBefore = cpuSeconds(broker.child.pid)
  const b = await load(api.match, [api.child.pid], acked)
  const metricsText = await (await fetch(`${api.match}/metrics`)).text()
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metricsText)?.[1])
  const meanBatch = metric('game_api_produce_batch_size_sum') / metric('game_api_produce_batch_size_count')
  const meanProduceMs =
    (1000 * metric('game_api_produce_latency_seconds_sum')) / metric('game_api_produce_latency_seconds_count')
  const brokerCpuMsPer1k = Math.round(
    ((cpuSeconds(broker.child.pid) - brokerCpuBefore) * 1e6) / Math.max(1, b.total2xx),
  )
  await stop(api.child)

  // Every 2xx has exactly one event; nothing else is in the topic.
  const offsets = await admin.fetchTopicOffsets('game_events')
  const inTopic = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
  await admin.disconnect()
  const seen = new Map<string, number>()
  await tailEvents({
    kafka,
    brokers: [brokers],
    topic: 'game_events',
    fromBeginning: true,
    limit: inTopic,
    onEvent: (e) => {
      const id = String(e.event?.message_post)
      seen.set(id, (seen.get(id) ?? 0) + 1)
    },
  })
  const missing = [...acked].filter((id) => !seen.has(id)).length
  const duplicated = [...seen.values()].filter((c) => c > 1).length
  await stop(broker.child)

  const row = (name: string, r: Run) =>
    `| ${name} | ${r.reqPerSec} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.rssMb} | ${r.cpuMsPer1k} |`
  const lines = [
    `autocannon ${CONNECTIONS} connections, ${DURATION} s, ${os.cpus().length} CPUs, node ${process.version}${EXTRA.length ? `, api flags: ${EXTRA.join(' ')}` : ''}, broker fsync ${FSYNC === 'always' ? 'before every ack' : `every ${FSYNC || 100} ms`}`,
    '',
    '| server | req/s | p50 ms | p99 ms | non-2xx | errors | peak RSS MB | server CPU ms / 1k req |',
    '|---|---|---|---|---|---|---|---|',
    row('(a) bare node:http', a),
    row('(b) game api → embedded broker', b),
    '',
    `ratio (b)/(a): ${(b.reqPerSec / a.reqPerSec).toFixed(2)} (target >= 0.6); p99 (b): ${b.p99} ms (target <= 25)`,
    `broker CPU ms / 1k events: ${brokerCpuMsPer1k}; mean batch ${meanBatch.toFixed(1)} events, mean produce round trip ${meanProduceMs.toFixed(2)} ms; load average before the run: ${LOAD_BEFORE}`,
    `check: ${acked.size} answered 2xx, ${inTopic} events in Kafka, ${missing} acked but missing, ${duplicated} duplicated`,
  ]
  // The table for people on stderr; the JSON summary (what `npm run bench` collects) on stdout.
  process.stderr.write(`${lines.join('\n')}\n`)
  const summary = {
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    apiFlags: EXTRA,
    brokerFsync: FSYNC === 'always' ? 'always' : `${FSYNC || 100}ms`,
    loadAverage: LOAD_BEFORE,
    bare: a,
    api: { ...b, meanBatch: Number(meanBatch.toFixed(1)), meanProduceMs: Number(meanProduceMs.toFixed(2)) },
    brokerCpuMsPer1k,
    ratio: Number((b.reqPerSec / a.reqPerSec).toFixed(2)),
    targets: { ratio: 0.6, p99Ms: 25, met: b.reqPerSec / a.reqPerSec >= 0.6 && b.p99 <= 25 },
    check: { acked: acked.size, inKafka: inTopic, missing, duplicated },
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  if (missing > 0 || duplicated > 0) process.exitCode = 1
} finally {
  await rm(dataDir, { recursive: true, force: true })
}
