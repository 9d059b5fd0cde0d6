/**
 * Chaos: three `game stream` workers in one group while events keep arriving; every 2-4 s one
 * worker is kill -9'd and restarted (rebalances in the middle of flushes), once the stack daemon
 * (broker and gateway) is kill -9'd in the middle of a flush and restarted; then one
 * `game stream --once`. The lake must hold exactly what Kafka holds: per table the same rows, no
 * event twice. Bounded: ~35 s of traffic, ~60-90 s in all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TABLE_NAMES, type TableName } from '../../src/lib/events/catalog.js'
import { routeMessage } from '../../src/lib/events/route.js'
import { createKafka } from '../../src/lib/kafka/client.js'
import { createLeanFetcher, forEachRecord, nextFetchOffset } from '../../src/lib/kafka/lean-fetcher.js'
import { listCommittedFiles } from '../../src/lib/lake/commit.js'
import { openLake } from '../../src/lib/lake/open.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { duckQuery, sampleEvents } from '../lib/stream/fixtures.js'

const TRAFFIC_MS = 35_000
const PARTITIONS = 3
const TOPIC = 'chaos'
const GROUP = 'g-chaos'

let dir: string | undefined
const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

interface Proc {
  child: ChildProcess
  out: () => string
  err: () => string
  exited: Promise<number | null>
  done: boolean
}

function start(argv: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: ROOT,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (err += d))
  const p: Proc = {
    child,
    out: () => out,
    err: () => err,
    exited: new Promise((resolve) =>
      child.on('close', (code) => {
        p.done = true
        children.delete(child)
        resolve(code)
      }),
    ),
    done: false,
  }
  return p
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Per table, event_id → how many times, from every record in the topic, routed as the stream routes. */
async function kafkaTruth(brokers: string[]): Promise<Map<TableName, Map<string, number>>> {
  const fetcher = createLeanFetcher({ brokers, topic: TOPIC, clientId: 'chaos-truth' })
  const out = new Map<TableName, Map<string, number>>(TABLE_NAMES.map((t) => [t, new Map()]))
  try {
    const parts = Array.from({ length: PARTITIONS }, (_, p) => p)
    const ends = await fetcher.listOffsets(parts, 'latest')
    const positions = new Map(parts.map((p) => [p, 0]))
    while (parts.some((p) => (positions.get(p) ?? 0) < (ends.get(p) ?? 0))) {
      const todo = new Map([...positions].filter(([p, o]) => o < (ends.get(p) ?? 0)))
      for (const f of await fetcher.fetch(todo)) {
        if (f.records === null) continue
        positions.set(f.partition, nextFetchOffset(f.records, f.fetchOffset))
        forEachRecord(
          f.records,
          f.fetchOffset,
          (offset, timestamp, buf, s, e) => {
            const value = s < 0 ? null : buf.toString('utf8', s, e)
            const meta = { topic: TOPIC, partition: f.partition, offset: String(offset), timestamp }
            for (const { table, row } of routeMessage(value, meta).rows) {
              const ids = out.get(table) as Map<string, number>
              const id = String(row.event_id)
              ids.set(id, (ids.get(id) ?? 0) + 1)
            }
          },
          f.aborted,
          () => undefined,
        )
      }
    }
  } finally {
    fetcher.close()
  }
  return out
}

describe('game stream under chaos (e2e)', () => {
  it('three workers killed and restarted, the stack killed mid-flush: the lake holds exactly what Kafka holds', {
    timeout: 240_000,
  }, async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'game-chaos-'))
    const home = path.join(dir, 'stack')
    const [kafkaPort, hdfsPort] = [await freePort(), await freePort()]
    const brokers = [`127.0.0.1:${kafkaPort}`]
    const lakeUrl = `hdfs://127.0.0.1:${hdfsPort}/tmp/lake`
    const hdfsRoot = path.join(home, 'hdfs')

    const startDaemon = async () => {
      const d = start(
        ['stack', 'daemon', '--kafka-port', String(kafkaPort), '--hdfs-port', String(hdfsPort)],
        {
          GAME_HOME: home,
        },
      )
      await until('the stack daemon', () => / ready: /.test(d.out()) || d.done, 60_000)
      expect(d.done, d.out() + d.err()).toBe(false)
      return d
    }
    let daemon = await startDaemon()

    const kafka = createKafka({ brokers, clientId: 'chaos', retry: { retries: 0 } })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true })
    await admin.disconnect()

    // Events keep arriving: one round (7 events, new ids) every ~40 ms, one attempt each (a
    // failed send is simply not in Kafka; Kafka is the truth the lake is compared with).
    let producing = true
    let sent = 0
    let failedSends = 0
    const producerLoop = (async () => {
      let round = 0
      while (producing) {
        const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false })
        try {
          await producer.connect()
          while (producing) {
            const events = sampleEvents(1, round++).map((e, i) => ({
              ...e,
              partition: (round + i) % PARTITIONS,
            }))
            await producer.send({ topic: TOPIC, acks: -1, messages: events })
            sent += events.length
            await sleep(40)
          }
        } catch {
          failedSends += 1
          await sleep(300)
        } finally {
          await producer.disconnect().catch(() => undefined)
        }
      }
    })()

    const workerArgs = [
      'stream',
      '--brokers',
      brokers.join(','),
      '--topic',
      TOPIC,
      '--lake',
      lakeUrl,
      '--group',
      GROUP,
      '--interval',
      '1s',
      '--session-timeout',
      '6s',
      '--json',
    ]
    const workerEnv = { GAME_HOME: path.join(dir, 'worker-home') }
    const workers: Proc[] = [0, 1, 2].map(() => start(workerArgs, workerEnv))
    let kills = 0
    let restarts = 0
    let daemonKilledMidFlush = false
    const began = Date.now()
    const daemonAt = began + 12_000 + Math.random() * 5_000
    // Once, at a random moment, the stack daemon dies in the middle of a flush. The worker kills
    // pause meanwhile: a group that rebalances every 2-4 s (session timeout 6 s) rarely flushes.
    const killDaemonMidFlush = async () => {
      const staging = path.join(hdfsRoot, 'tmp', 'lake', '_game', 'staging')
      const flushing = () => {
        try {
          return readdirSync(staging).length > 0
        } catch {
          return false
        }
      }
      const deadline = Date.now() + 30_000
      while (!flushing()) {
        if (Date.now() > deadline) throw new Error('no flush started within 30 s')
        await new Promise((r) => setTimeout(r, 2))
      }
      daemon.child.kill('SIGKILL')
      await daemon.exited
      daemonKilledMidFlush = true
      await sleep(1_000)
      await rm(path.join(home, 'stack.json'), { force: true })
      daemon = await startDaemon()
    }
    while (Date.now() - began < TRAFFIC_MS || kills < 8) {
      await sleep(2_000 + Math.random() * 2_000)
      const i = Math.floor(Math.random() * workers.length)
      workers[i].child.kill('SIGKILL')
      await workers[i].exited
      kills += 1
      workers[i] = start(workerArgs, workerEnv)
      if (!daemonKilledMidFlush && Date.now() >= daemonAt) await killDaemonMidFlush()
      // Workers that stopped by themselves (Kafka or the lake went away) are restarted too.
      for (const [j, w] of workers.entries()) {
        if (w.done) {
          workers[j] = start(workerArgs, workerEnv)
          restarts += 1
        }
      }
    }
    producing = false
    await producerLoop
    for (const w of workers) w.child.kill('SIGKILL')
    await Promise.all(workers.map((w) => w.exited))
    expect(kills).toBeGreaterThanOrEqual(8)
    expect(daemonKilledMidFlush).toBe(true)
    expect(sent).toBeGreaterThan(1_000)

    // The killed members hold their partitions for the session timeout (6 s); then one --once.
    const once = await runCli([...workerArgs, '--once'], { env: workerEnv, timeoutMs: 120_000 })
    expect(once.code, once.stderr.slice(-3000)).toBe(0)

    const truth = await kafkaTruth(brokers)
    const lake = openLake(lakeUrl, { hdfsUser: 'game' })
    const summary: string[] = []
    for (const table of TABLE_NAMES) {
      const expected = truth.get(table) as Map<string, number>
      const files = await listCommittedFiles(lake, table)
      const rows =
        files.length === 0
          ? []
          : await duckQuery(
              `SELECT event_id, count(*)::INT AS n FROM read_parquet([${files
                .map((f) => `'${path.join(hdfsRoot, 'tmp', 'lake', f.path)}'`)
                .join(',')}]) GROUP BY event_id`,
            )
      const landed = new Map(rows.map((r) => [String(r.event_id), Number(r.n)]))
      const dupes = [...landed].filter(([id, n]) => n > (expected.get(id) ?? 0))
      const missing = [...expected].filter(([id, n]) => (landed.get(id) ?? 0) < n)
      const total = [...landed.values()].reduce((s, n) => s + n, 0)
      const want = [...expected.values()].reduce((s, n) => s + n, 0)
      summary.push(
        `${table}: kafka ${want}, lake ${total}, duplicates ${dupes.length}, missing ${missing.length}`,
      )
      expect(dupes, `${table} rows landed more often than Kafka holds them`).toEqual([])
      expect(missing.slice(0, 5), `${table} rows missing from the lake`).toEqual([])
      expect(total, summary.join('\n')).toBe(want)
      // Kafka itself holds each event id once (one send attempt per event): by event id is by (partition, offset).
      expect([...expected.values()].every((n) => n === 1)).toBe(true)
    }
    expect(truth.get('transactions')?.size).toBeGreaterThan(300)
    // One claims directory for the topic: its id never changed (`chaos~<topicId>`).
    const claimsRoot = path.join(hdfsRoot, 'tmp', 'lake', '_game', 'claims')
    const topicDirs = await readdir(claimsRoot)
    expect(topicDirs).toEqual([expect.stringMatching(/^chaos~[A-Za-z0-9_-]{22}$/)])
    const claimsDir = path.join(claimsRoot, topicDirs[0])
    const claims = (
      await Promise.all((await readdir(claimsDir)).map((p) => readdir(path.join(claimsDir, p))))
    ).flat()
    console.log(
      `chaos: ${sent} events sent (${failedSends} failed sends), ${kills} worker kills, ${restarts} self-exits restarted, stack killed mid-flush once; ${claims.length} claims (${claims.filter((c) => !c.endsWith('-0000')).length} superseded an orphan)\n${summary.join('\n')}\n--once: ${once.stdout.slice(0, 300)}`,
    )
    daemon.child.kill('SIGTERM')
    await daemon.exited
  })
})
