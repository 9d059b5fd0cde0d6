// bench/stream.ts — `npx tsx bench/stream.ts --events 1000000 [--partitions 3] [--lake hdfs|file] [--rounds 1] [--format api|seed] [--whole [--baseline DIR]] [--rejected]`
// On the embedded stack (broker + WebHDFS gateway in this process), produces N game events, then
// runs, each in its own child process so peak RSS is the consumer's own:
//   (a) a bare kafkajs consumer that only counts messages (eachBatch, no processing),
//   (b) streamToLake --once into the lake (route, buffer, Parquet via DuckDB, commit protocol).
// Prints events/s, peak RSS and the ratio (b)/(a); target (b) >= 0.5 x (a), RSS <= 400 MB.
// --rounds N alternates (a) and (b) N times on the same events (each (b) into a lake of its own)
// and reports every round plus the median-ratio one: the machine is shared and noisy.
// --whole: both sides are whole processes timed from spawn to exit, what a user waits for: (a) a
//   bare kafkajs consumer process (bench/stream-bare-consumer.mjs), (b) the built `game stream
//   --once` (npm run build first). Target (b) >= 0.7 x (a). --baseline DIR also runs (b) with the
//   build in DIR (another checkout, built) on the same events, each round: before/after in one run.
// --rejected: CPU per rejected event against a valid one (see rejectedMode). Target <= 2.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startBroker } from '../src/lib/broker/index.js'
import { DEFAULT_STREAM } from '../src/lib/config.js'
import { buildEvent } from '../src/lib/events/envelope.js'
import { startWebHdfsGateway } from '../src/lib/hdfs/gateway.js'
import { createKafka } from '../src/lib/kafka/client.js'
import { openLake } from '../src/lib/lake/open.js'
import { streamToLake } from '../src/lib/stream/stream.js'

const SELF = fileURLToPath(import.meta.url)
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const TOPIC = 'bench_events'
const REJECTED_TOPIC = 'bench_rejected'
const EMPTY_TOPIC = 'bench_empty'

interface ChildReport {
  events: number
  ms: number
  maxRssMb: number
  /** User + system CPU of the child, seconds (less sensitive to a busy machine than wall time). */
  cpuSec?: number
  extra?: Record<string, unknown>
}

function memory(): string {
  const m = process.memoryUsage()
  const mb = (n: number) => Math.round(n / 1048576)
  return `rss=${mb(m.rss)}MB heap=${mb(m.heapUsed)}/${mb(m.heapTotal)}MB external=${mb(m.external)}MB`
}

function cpuSeconds(): number {
  const u = process.resourceUsage()
  return +((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(2)
}

/** (a): count messages with a bare consumer until `total` were seen. */
async function bareConsumer(brokers: string[], total: number): Promise<ChildReport> {
  const kafka = createKafka({ brokers, clientId: 'bench-bare' })
  const consumer = kafka.consumer({
    groupId: `bench-bare-${Date.now()}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
    maxWaitTimeInMs: 200,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  const t0 = performance.now()
  let seen = 0
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length
        if (seen >= total) resolve()
      },
    })
  })
  const ms = performance.now() - t0
  await consumer.disconnect()
  return { events: seen, ms, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuSec: cpuSeconds() }
}

/** (b): the real stream, --once, into the lake. */
async function stream(brokers: string[], lakeUrl: string, group: string): Promise<ChildReport> {
  const kafka = createKafka({ brokers, clientId: 'bench-stream' })
  const lake = openLake(lakeUrl, { hdfsUser: 'game' })
  const t0 = performance.now()
  const r = await streamToLake(
    {
      topic: TOPIC,
      group,
      intervalMs: 30_000,
      maxRows: DEFAULT_STREAM.maxRows,
      maxBytes: DEFAULT_STREAM.maxBytes,
      once: true,
      fromBeginning: true,
      brokers,
    },
    {
      kafka,
      lake,
      onProgress: (p) =>
        process.stderr.write(
          `  ${Math.round(performance.now() - t0)}ms ${p.phase} events=${p.events} buffered=${p.buffered} flushes=${p.flushes}${p.lastFlush ? ` last=${p.lastFlush.rows}rows/${p.lastFlush.files}files/${p.lastFlush.durationMs}ms(write ${p.lastFlush.writeMs} publish ${p.lastFlush.publishMs})` : ''} ${memory()}\n`,
        ),
    },
  )
  return {
    events: r.events,
    ms: performance.now() - t0,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuSec: cpuSeconds(),
    extra: { flushes: r.flushes, rows: r.rows, rejected: r.rejected },
  }
}

const ROOT = path.resolve(path.dirname(SELF), '..')

/**
 * --whole: one process timed from spawn to exit by this process, with its peak RSS and CPU seconds
 * written at exit by a preloaded hook (bench/usage-on-exit.mjs). Start-up, module loading, DuckDB,
 * the group join, the final flush and the exit all count, as they do for a user.
 */
function runWhole(args: string[], nodeArgs: string[] = []): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const usageFile = path.join(os.tmpdir(), `game-bench-usage-${process.pid}-${Date.now()}.json`)
    const t0 = performance.now()
    const child = spawn(
      process.execPath,
      [...nodeArgs, '--import', pathToFileURL(path.join(ROOT, 'bench', 'usage-on-exit.mjs')).href, ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_USAGE_FILE: usageFile } },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', async (code) => {
      const ms = performance.now() - t0
      try {
        if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}\n${err.slice(-2000)}`)
        const usage = JSON.parse(await readFile(usageFile, 'utf8'))
        const result = JSON.parse(out)
        resolve({
          events: result.events,
          ms,
          maxRssMb: usage.maxRssMb,
          cpuSec: +usage.cpuSec.toFixed(2),
          extra: result.rows
            ? { flushes: result.flushes, rows: result.rows, rejected: result.rejected }
            : undefined,
        })
      } catch (e) {
        reject(e)
      } finally {
        await rm(usageFile, { force: true })
      }
    })
  })
}

/** --whole (a): the bare kafkajs consumer process. */
function wholeBare(brokers: string[], topic: string, total: number): Promise<ChildReport> {
  return runWhole([
    path.join(ROOT, 'bench', 'stream-bare-consumer.mjs'),
    brokers.join(','),
    topic,
    String(total),
  ])
}

/** --whole (b): `game stream --once --json`, the built CLI (npm run build first). */
function wholeStream(
  brokers: string[],
  topic: string,
  lake: string,
  group: string,
  home: string,
  root = ROOT,
): Promise<ChildReport> {
  return runWhole(
    [
      path.join(root, 'bin', 'run.js'),
      'stream',
      '--once',
      '--json',
      '--brokers',
      brokers.join(','),
      '--topic',
      topic,
      '--lake',
      lake,
      '--group',
      group,
      '--hdfs-user',
      'game',
      '--data-dir',
      home,
    ],
    (process.env.BENCH_STREAM_NODE_ARGS ?? '').split(' ').filter(Boolean),
  )
}

function runChild(role: string, payload: Record<string, unknown>): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(role === 'stream' ? (process.env.BENCH_STREAM_NODE_ARGS ?? '').split(' ').filter(Boolean) : []),
        '--import',
        'tsx',
        SELF,
        '--role',
        role,
        '--payload',
        JSON.stringify(payload),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${role} exited ${code}`))
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'))
    })
  })
}

/**
 * n events of every type in turn: as `game api` produces them (`api`), or as the seed's Flask API
 * did (`seed`: headers merged in, amount as text, no envelope, no event_id or received_at).
 */
function events(n: number, format: string): string[] {
  const kinds: [string, Record<string, string | number>][] = [
    ['purchase_sword', { amount: -10, description: 'sharp' }],
    ['purchase_knife', { amount: -10, description: 'small' }],
    ['add_money', { amount: 25, description: 'money' }],
    ['join_guild', { guild_name: 'knights' }],
    ['cancel_membership', { guild_name: 'knights', cancel_reason: 'bored' }],
    ['mensaje', { message_post: 'hola mundo' }],
    ['default', {}],
  ]
  const out: string[] = []
  const t = Date.now()
  for (let i = 0; i < n; i++) {
    const [type, fields] = kinds[i % kinds.length]
    if (format === 'seed') {
      const text = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]))
      out.push(
        JSON.stringify({
          Accept: '*/*',
          Host: `user${i % 1000}.comcast.com`,
          'User-Agent': 'ApacheBench/2.3',
          event_type: type,
          ...text,
        }),
      )
      continue
    }
    out.push(
      JSON.stringify(
        buildEvent({
          type,
          fields,
          headers: { Host: `user${i % 1000}.comcast.com`, 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' },
          eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          receivedAt: new Date(t + i),
        }),
      ),
    )
  }
  return out
}

/**
 * n events of which none routes (--rejected): in turn an unknown type, a broken rule (amount <= 0,
 * amount not an integer, empty guild_name), junk that is not JSON, a missing event_type, and JSON
 * that is not an object. Each gets a `rejected` row with its reason.
 */
function rejectedEvents(n: number): string[] {
  const t = Date.now()
  const api = (i: number, type: string, fields: Record<string, string | number>) =>
    buildEvent({
      type,
      fields,
      headers: { Host: `user${i % 1000}.comcast.com`, 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' },
      eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      receivedAt: new Date(t + i),
    }) as Record<string, unknown>
  const kinds: ((i: number) => string)[] = [
    (i) => JSON.stringify(api(i, 'purchase_dragon', { amount: -10, description: 'big' })),
    (i) => JSON.stringify(api(i, 'add_money', { amount: -5, description: 'money' })),
    (i) => JSON.stringify(api(i, 'purchase_sword', { amount: 'ten', description: 'sharp' })),
    (i) => JSON.stringify(api(i, 'join_guild', { guild_name: '' })),
    (i) =>
      `GET /purchase_a_sword?user=${i} HTTP/1.1 Host: user${i % 1000}.comcast.com junk from another producer`,
    (i) => {
      const { event_type: _, ...rest } = api(i, 'mensaje', { message_post: 'hola mundo' })
      return JSON.stringify(rest)
    },
    (i) => JSON.stringify([api(i, 'mensaje', { message_post: 'in an array' })]),
  ]
  return Array.from({ length: n }, (_, i) => kinds[i % kinds.length](i))
}

/**
 * --rejected: what a rejected event costs against a valid one. `game stream --once` (whole process)
 * on three topics: N valid events, N rejected events, and none (start-up, join, exit: subtracted
 * from both). CPU seconds per event, because the machine is shared: (rejected - empty) / (valid -
 * empty) per round, the median round reported. Target: <= 2.
 */
async function rejectedMode(brokers: string[], lake: string, dir: string, total: number, rounds: number) {
  const results = []
  for (let round = 0; round < rounds; round++) {
    const run = (topic: string) =>
      wholeStream(
        brokers,
        topic,
        `${lake}/${topic}-${round}`,
        `bench-${topic}-${round}`,
        path.join(dir, `home-${topic}-${round}`),
      )
    const empty = await run(EMPTY_TOPIC)
    const valid = await run(TOPIC)
    const rejected = await run(REJECTED_TOPIC)
    const perEvent = (r: ChildReport) => +((((r.cpuSec ?? 0) - (empty.cpuSec ?? 0)) * 1e6) / total).toFixed(2)
    const result = {
      emptyTopic: { seconds: +(empty.ms / 1000).toFixed(2), cpuSeconds: empty.cpuSec },
      valid: {
        seconds: +(valid.ms / 1000).toFixed(2),
        cpuSeconds: valid.cpuSec,
        cpuMicrosPerEvent: perEvent(valid),
        peakRssMb: Math.round(valid.maxRssMb),
      },
      rejected: {
        seconds: +(rejected.ms / 1000).toFixed(2),
        cpuSeconds: rejected.cpuSec,
        cpuMicrosPerEvent: perEvent(rejected),
        peakRssMb: Math.round(rejected.maxRssMb),
        rows: rejected.extra?.rows,
      },
      costRatio: +(perEvent(rejected) / perEvent(valid)).toFixed(2),
      loadAverage: +os.loadavg()[0].toFixed(2),
    }
    results.push(result)
    process.stderr.write(
      `round ${round + 1}/${rounds}: valid ${result.valid.cpuMicrosPerEvent} µs/event, rejected ${result.rejected.cpuMicrosPerEvent} µs/event, ratio ${result.costRatio}\n`,
    )
  }
  const median = [...results].sort((x, y) => x.costRatio - y.costRatio)[Math.floor(results.length / 2)]
  const summary = {
    events: total,
    mode: 'rejected path: game stream --once, whole process, CPU per event above an empty topic',
    ...median,
    ...(rounds > 1 ? { rounds: results.map((r) => r.costRatio) } : {}),
    target: 'rejected <= 2 x valid (median round)',
    pass: median.costRatio <= 2,
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
}

async function main(): Promise<void> {
  const role = arg('role', '')
  if (role) {
    const payload = JSON.parse(arg('payload', '{}'))
    const report =
      role === 'bare'
        ? await bareConsumer(payload.brokers, payload.total)
        : await stream(payload.brokers, payload.lake, payload.group)
    process.stdout.write(`${JSON.stringify(report)}\n`)
    process.exit(0)
  }

  const total = Number(arg('events', '1000000'))
  const partitions = Number(arg('partitions', '3'))
  const lakeKind = arg('lake', 'hdfs')
  const whole = process.argv.includes('--whole')
  const target = whole ? 0.7 : 0.5
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-stream-'))
  const broker = await startBroker({ port: 0, dataDir: path.join(dir, 'kafka') })
  const gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
  const brokers = [`127.0.0.1:${broker.port}`]
  const lake =
    lakeKind === 'file' ? pathToFileURL(path.join(dir, 'lake')).href : `hdfs://127.0.0.1:${gateway.port}/tmp`
  try {
    const kafka = createKafka({ brokers, clientId: 'bench-producer' })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: partitions }], waitForLeaders: true })
    await admin.disconnect()
    const produce = async (topic: string, values: string[]) => {
      const producer = kafka.producer()
      await producer.connect()
      const tp = performance.now()
      for (let i = 0; i < values.length; i += 10_000) {
        await producer.send({
          topic,
          acks: -1,
          messages: values
            .slice(i, i + 10_000)
            .map((value, j) => ({ value, partition: (i + j) % partitions })),
        })
      }
      await producer.disconnect()
      const bytes = values.reduce((s, v) => s + v.length, 0)
      process.stderr.write(
        `produced ${values.length} events (${(bytes / 1e6).toFixed(0)} MB) to ${topic} in ${((performance.now() - tp) / 1000).toFixed(1)}s\n`,
      )
    }
    const format = arg('format', 'api')
    if (format !== 'api' && format !== 'seed') throw new Error(`--format api|seed, got ${format}`)
    await produce(TOPIC, events(total, format))
    if (process.argv.includes('--rejected')) {
      const admin2 = kafka.admin()
      await admin2.connect()
      await admin2.createTopics({
        topics: [REJECTED_TOPIC, EMPTY_TOPIC].map((topic) => ({ topic, numPartitions: partitions })),
        waitForLeaders: true,
      })
      await admin2.disconnect()
      await produce(REJECTED_TOPIC, rejectedEvents(total))
      await rejectedMode(brokers, lake, dir, total, Math.max(1, Number(arg('rounds', '1'))))
      return
    }

    // The stack (broker + WebHDFS gateway) runs in this process: its CPU during each run.
    const stackCpu = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
      const before = process.cpuUsage()
      const result = await run()
      const used = process.cpuUsage(before)
      return [result, +((used.user + used.system) / 1e6).toFixed(2)]
    }
    const rounds = Math.max(1, Number(arg('rounds', '1')))
    const results = []
    for (let round = 0; round < rounds; round++) {
      const [a, aStackCpu] = await stackCpu(() =>
        whole ? wholeBare(brokers, TOPIC, total) : runChild('bare', { brokers, total }),
      )
      process.stderr.write(`(a) bare consumer done\n`)
      const load = os.loadavg()[0]
      const roundLake =
        rounds === 1
          ? lake
          : lakeKind === 'file'
            ? pathToFileURL(path.join(dir, 'lake', `round-${round}`)).href
            : `${lake}/round-${round}`
      const [b, bStackCpu] = await stackCpu(() =>
        whole
          ? wholeStream(brokers, TOPIC, roundLake, `bench-stream-${round}`, path.join(dir, `home-${round}`))
          : runChild('stream', { brokers, lake: roundLake, group: `bench-stream-${round}` }),
      )
      // --baseline DIR: the same run with another checkout's build (e.g. `git worktree add` of main,
      // built), on the same events, right after: a before/after ratio measured in one run.
      const baselineRoot = arg('baseline', '')
      const base =
        whole && baselineRoot
          ? await wholeStream(
              brokers,
              TOPIC,
              `${roundLake}-baseline`,
              `bench-baseline-${round}`,
              path.join(dir, `home-baseline-${round}`),
              path.resolve(baselineRoot),
            )
          : undefined
      const rate = (r: ChildReport) => Math.round((r.events * 1000) / r.ms)
      const ratio = rate(b) / rate(a)
      const result = {
        bare: {
          eventsPerSec: rate(a),
          seconds: +(a.ms / 1000).toFixed(2),
          cpuSeconds: a.cpuSec,
          stackCpuSeconds: aStackCpu,
          peakRssMb: Math.round(a.maxRssMb),
        },
        stream: {
          eventsPerSec: rate(b),
          seconds: +(b.ms / 1000).toFixed(2),
          cpuSeconds: b.cpuSec,
          stackCpuSeconds: bStackCpu,
          peakRssMb: Math.round(b.maxRssMb),
          ...b.extra,
        },
        ratio: +ratio.toFixed(2),
        ...(base
          ? {
              baseline: {
                root: path.resolve(baselineRoot),
                eventsPerSec: rate(base),
                seconds: +(base.ms / 1000).toFixed(2),
                cpuSeconds: base.cpuSec,
                peakRssMb: Math.round(base.maxRssMb),
                ratio: +(rate(base) / rate(a)).toFixed(2),
              },
            }
          : {}),
        loadAverageBefore: +load.toFixed(2),
      }
      results.push(result)
      if (rounds > 1) {
        process.stderr.write(
          `round ${round + 1}/${rounds}: (a) ${result.bare.eventsPerSec} ev/s, (b) ${result.stream.eventsPerSec} ev/s, ratio ${result.ratio}, (b) RSS ${result.stream.peakRssMb} MB${result.baseline ? `; baseline ${result.baseline.eventsPerSec} ev/s, ratio ${result.baseline.ratio}` : ''}\n`,
        )
      }
    }
    const median = [...results].sort((x, y) => x.ratio - y.ratio)[Math.floor(results.length / 2)]
    const maxRss = Math.max(...results.map((r) => r.stream.peakRssMb))
    const summary = {
      events: total,
      partitions,
      lake: lakeKind,
      format,
      ...median,
      ...(rounds > 1
        ? {
            rounds: results.map((r) => ({
              bare: r.bare.eventsPerSec,
              stream: r.stream.eventsPerSec,
              ratio: r.ratio,
              streamPeakRssMb: r.stream.peakRssMb,
              streamCpuSeconds: r.stream.cpuSeconds,
              ...(r.baseline
                ? { baselineRatio: r.baseline.ratio, baselineCpuSeconds: r.baseline.cpuSeconds }
                : {}),
            })),
          }
        : {}),
      mode: whole ? 'whole process, spawn to exit' : 'consuming only, in-process timer',
      targets: { ratio: `>= ${target}${rounds > 1 ? ' (median round)' : ''}`, rssMb: '<= 400' },
      pass: median.ratio >= target && maxRss <= 400,
    }
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  } finally {
    await broker.close()
    await gateway.close()
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
