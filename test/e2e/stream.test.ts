import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TABLE_NAMES } from '../../src/lib/events/catalog.js'
import { listCommittedFiles, readCommitRecords } from '../../src/lib/lake/commit.js'
import { CHECKPOINTS_DIR } from '../../src/lib/lake/layout.js'
import { openLake } from '../../src/lib/lake/open.js'
import type { Lake } from '../../src/lib/lake/types.js'
import { CRASH_POINTS } from '../../src/lib/stream/stream.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import {
  BAD_EVENTS,
  duckQuery,
  SEED_EVENTS,
  type Stack,
  sampleEvents,
  startStack,
} from '../lib/stream/fixtures.js'

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.close()
})

const env = () => ({ GAME_HOME: path.join(stack.dir, 'home') })
const lakeUrl = (name: string) => `${stack.lakeUrl}/${name}`
const lakeOf = (name: string) => openLake(lakeUrl(name), { hdfsUser: 'game' })
const args = (topic: string, name: string, extra: string[] = []) => [
  'stream',
  '--brokers',
  stack.brokers.join(','),
  '--topic',
  topic,
  '--lake',
  lakeUrl(name),
  '--group',
  `g-${name}`,
  // A killed member holds its partitions for the session timeout; keep restarts quick.
  '--session-timeout',
  '6s',
  ...extra,
]

/** Row count and distinct event ids per table, read by DuckDB from the Hive tree (as Spark would). */
async function countRows(name: string): Promise<Record<string, { n: number; ids: number }>> {
  const root = path.join(stack.dir, 'hdfs', 'tmp', name)
  const out: Record<string, { n: number; ids: number }> = {}
  for (const t of TABLE_NAMES) {
    const files = await listCommittedFiles(lakeOf(name), t)
    if (files.length === 0) {
      out[t] = { n: 0, ids: 0 }
      continue
    }
    const [r] = await duckQuery(
      `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM read_parquet('${root}/${t}/*/*.parquet', hive_partitioning = true)`,
    )
    out[t] = r as { n: number; ids: number }
  }
  return out
}

/** Every .parquet under the table dirs belongs to a commit record: no partial file is visible. */
async function visibleFilesAreCommitted(lake: Lake): Promise<void> {
  const committed = new Set((await readCommitRecords(lake)).flatMap((r) => r.files.map((f) => f.path)))
  for (const t of TABLE_NAMES) {
    for (const part of await lake.list(t)) {
      for (const f of await lake.list(part.path)) expect(committed.has(f.path), f.path).toBe(true)
    }
  }
}

describe('game stream (e2e)', () => {
  it('stream --once --json lands everything and prints one JSON summary; status agrees', async () => {
    const topic = 'e2e-once'
    await stack.createTopic(topic, 3)
    await stack.produce(topic, sampleEvents(4))
    await stack.produce(
      topic,
      [...SEED_EVENTS, ...BAD_EVENTS.map((b) => b.value)].map((value) => ({ value })),
    )
    // Another producer's event with a field the catalog does not have: landed, and counted.
    await stack.produce(topic, [{ value: '{"event_type":"join_guild","guild_name":"k","platform":"ios"}' }])
    const total = 4 * 7 + SEED_EVENTS.length + BAD_EVENTS.length + 1
    const r = await runCli([...args(topic, 'once'), '--once', '--json', '--checkpoint-every', '1'], {
      env: env(),
    })
    expect(r.code, r.stderr).toBe(0)
    // --checkpoint-every 1: the one flush is merged into a checkpoint at once.
    expect(await lakeOf('once').list(CHECKPOINTS_DIR)).toHaveLength(1)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ events: total, rejected: BAD_EVENTS.length, stoppedBy: 'caught-up' })
    expect(result.rows).toMatchObject({ purchases: 9, transactions: 14, rejected: BAD_EVENTS.length })
    expect(typeof result.durationMs).toBe('number')
    expect(result.unknownFields).toEqual({ platform: 1 })
    const counts = await countRows('once')
    expect(counts.transactions).toEqual({ n: 14, ids: 14 })
    expect(counts.rejected.n).toBe(BAD_EVENTS.length)

    const s = await runCli(
      [
        'stream',
        'status',
        '--json',
        '--brokers',
        stack.brokers.join(','),
        '--topic',
        topic,
        '--lake',
        lakeUrl('once'),
        '--group',
        'g-once',
      ],
      { env: env() },
    )
    expect(s.code, s.stderr).toBe(0)
    const status = JSON.parse(s.stdout)
    expect(status.partitions).toHaveLength(3)
    expect(status.partitions.every((p: { lag: number }) => p.lag === 0)).toBe(true)
    expect(status.tables.find((t: { table: string }) => t.table === 'purchases').rows).toBe(9)
    expect(status.unknownFields).toEqual({ platform: 1 })

    const human = await runCli(
      ['stream', 'status', '--brokers', stack.brokers.join(','), '--topic', topic, '--lake', lakeUrl('once')],
      { env: env() },
    )
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/transactions\s*\|\s*\d+\s*\|\s*14/)
    expect(human.stdout).toContain('unknown fields seen: platform (1); kept in raw_event only')
  })

  it('exits 4 with a hint when Kafka is not reachable', async () => {
    const r = await runCli(['stream', '--once', '--brokers', '127.0.0.1:1', '--lake', lakeUrl('none')], {
      env: env(),
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/Hint: .*game up/)
  })

  it('rejects a bad --interval with exit 3', async () => {
    const r = await runCli([...args('x', 'bad'), '--interval', 'soon', '--json'], { env: env() })
    expect(r.code).toBe(3)
    expect(JSON.parse(r.stdout).error.code).toBe('CONFIG_INVALID')
  })

  for (const point of CRASH_POINTS) {
    it(`a kill at ${point} then a restart lands every event exactly once, with no partial file visible`, async () => {
      const name = `crash-${point}`
      const topic = name
      await stack.createTopic(topic, 2)
      const rounds = 30
      await stack.produce(topic, sampleEvents(rounds))
      // Small batches: the crash hits the first flush while later events are still unconsumed.
      const crashed = await runCli([...args(topic, name), '--once', '--max-rows', '40'], {
        env: { ...env(), GAME_STREAM_CRASH_AT: point },
      })
      expect(crashed.code, crashed.stderr).toBeNull()
      await visibleFilesAreCommitted(lakeOf(name))

      const again = await runCli([...args(topic, name), '--once', '--json', '--max-rows', '40'], {
        env: env(),
      })
      expect(again.code, again.stderr).toBe(0)
      await visibleFilesAreCommitted(lakeOf(name))
      // Uncommitted staging of the killed process may stay (young staging could be a live
      // writer's); it is never visible and holds no committed commit id.
      const committedIds = new Set((await readCommitRecords(lakeOf(name))).map((r) => r.commitId))
      for (const e of await lakeOf(name).list('_game/staging')) {
        expect(committedIds.has(e.name.replace(/\.json$/, '')), e.path).toBe(false)
      }
      const counts = await countRows(name)
      expect(counts.purchases).toEqual({ n: rounds * 2, ids: rounds * 2 })
      expect(counts.transactions).toEqual({ n: rounds * 3, ids: rounds * 3 })
      expect(counts.add_money).toEqual({ n: rounds, ids: rounds })
      expect(counts.guild_membership).toEqual({ n: rounds, ids: rounds })
      expect(counts.cancel_membership).toEqual({ n: rounds, ids: rounds })
      expect(counts.messages).toEqual({ n: rounds, ids: rounds })
      expect(counts.rejected.n).toBe(0)
    })
  }
})

interface Running {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function spawnStream(argv: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: ROOT,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('two game stream processes in one group (e2e)', () => {
  it('split the partitions; totals are exact; SIGTERM flushes and exits 0', async () => {
    const topic = 'e2e-group'
    const name = 'group'
    await stack.createTopic(topic, 4)
    const a = spawnStream([...args(topic, name), '--interval', '300ms', '--json'])
    const b = spawnStream([...args(topic, name), '--interval', '300ms', '--json'])
    const assigned = (r: Running) => {
      const lines = r.stderr().trim().split('\n')
      return (
        /partitions \[(\d[\d,]*)\]/
          .exec(lines.at(-1) ?? '')?.[1]
          ?.split(',')
          .map(Number) ?? []
      )
    }
    // Both have joined and the partitions are split between them (one assignment each, no overlap).
    await until('both processes to share the partitions', () => {
      const pa = assigned(a)
      const pb = assigned(b)
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && !pa.some((p) => pb.includes(p))
    })
    const rounds = 40
    const events = sampleEvents(rounds).map((e, i) => ({ ...e, partition: i % 4 }))
    await stack.produce(topic, events)
    await until('every event in the lake', async () => {
      const recs = await readCommitRecords(lakeOf(name))
      const next = new Map<string, number>()
      for (const r of recs)
        for (const [p, o] of Object.entries(r.offsets)) next.set(p, Math.max(next.get(p) ?? 0, Number(o)))
      return [...next.values()].reduce((s, o) => s + o, 0) === events.length
    })
    a.child.kill('SIGTERM')
    b.child.kill('SIGTERM')
    expect(await a.exited, a.stderr()).toBe(0)
    expect(await b.exited, b.stderr()).toBe(0)
    const ra = JSON.parse(a.stdout())
    const rb = JSON.parse(b.stdout())
    expect(ra.events).toBeGreaterThan(0)
    expect(rb.events).toBeGreaterThan(0)
    expect(ra.events + rb.events).toBe(events.length)
    expect(ra.stoppedBy).toBe('signal')
    const counts = await countRows(name)
    expect(counts.transactions).toEqual({ n: rounds * 3, ids: rounds * 3 })
    expect(counts.messages).toEqual({ n: rounds, ids: rounds })
  })
})
