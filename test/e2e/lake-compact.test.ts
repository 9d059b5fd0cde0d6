import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listCommittedFiles, readCommitRecords } from '../../src/lib/lake/commit.js'
import { openLake } from '../../src/lib/lake/open.js'
import { openLakeQuery } from '../../src/lib/report/engine.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { duckQuery, type Stack, sampleEvents, startStack } from '../lib/stream/fixtures.js'

/**
 * `game lake compact` as real processes beside a live `game stream` on a WebHDFS lake, with kill -9
 * of either side; a directory-listing reader (DuckDB over a glob, as Spark reads) and a log-aware
 * report checked while compactions run.
 */

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.close()
})

const env = () => ({ GAME_HOME: path.join(stack.dir, 'home') })
const NAME = 'upkeep'
const TOPIC = 'upkeep'
const lakeUrl = () => `${stack.lakeUrl}/${NAME}`
const lake = () => openLake(lakeUrl(), { hdfsUser: 'game' })

interface Running {
  child: ChildProcess
  stderr: () => string
  stdout: () => string
  exited: Promise<number | null>
}

function spawnCli(argv: string[]): Running {
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

const streamArgs = () => [
  'stream',
  '--brokers',
  stack.brokers.join(','),
  '--topic',
  TOPIC,
  '--lake',
  lakeUrl(),
  '--group',
  'g-upkeep',
  '--session-timeout',
  '6s',
  '--interval',
  '150ms',
  '--from-beginning',
]
const compactArgs = (extra: string[] = []) => [
  'lake',
  'compact',
  '--lake',
  lakeUrl(),
  '--min-files',
  '2',
  ...extra,
]

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function landed(): Promise<number> {
  const next = new Map<string, number>()
  for (const r of await readCommitRecords(lake()))
    for (const [p, o] of Object.entries(r.offsets)) next.set(p, Math.max(next.get(p) ?? 0, Number(o)))
  return [...next.values()].reduce((s, o) => s + o, 0)
}

/** What Spark would see: every .parquet under the table's partition dirs, no commit log. */
async function globCount(table: string): Promise<{ n: number; ids: number }> {
  const root = path.join(stack.dir, 'hdfs', 'tmp', NAME)
  const [r] = await duckQuery(
    `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM read_parquet('${root}/${table}/*/*.parquet', hive_partitioning = true)`,
  )
  return r as { n: number; ids: number }
}

describe('game lake compact beside a live game stream (e2e)', () => {
  it('no row lost or doubled across kill -9 of the compactor and of the stream; plain readers never see a duplicate after a compaction', async () => {
    await stack.createTopic(TOPIC, 2)
    let stream = spawnCli(streamArgs())
    let produced = 0
    let rounds = 0
    const produce = async (n: number) => {
      await stack.produce(TOPIC, sampleEvents(n, rounds))
      rounds += n
      produced += n * 7
    }
    let compactions = 0
    let killedCompactions = 0
    for (let i = 0; i < 10; i++) {
      await produce(3)
      await until(`${produced} events landed`, async () => (await landed()) === produced)
      await produce(2)
      const c = spawnCli(compactArgs(['--json']))
      if (i % 3 === 1) {
        // kill -9 somewhere in the middle of the compaction
        await new Promise((r) => setTimeout(r, 300 + 150 * i))
        c.child.kill('SIGKILL')
        await c.exited
        killedCompactions++
      } else {
        expect(await c.exited, c.stderr()).toBe(0)
        compactions++
        // A finished compaction: a directory-listing reader sees each row once.
        for (const t of ['transactions', 'messages']) {
          const g = await globCount(t)
          expect(g.n, `${t} after compaction ${i}`).toBe(g.ids)
        }
      }
      if (i === 5) {
        stream.child.kill('SIGKILL')
        await stream.exited
        stream = spawnCli(streamArgs())
      }
    }
    await until(`${produced} events landed`, async () => (await landed()) === produced, 90_000)
    stream.child.kill('SIGTERM')
    expect(await stream.exited, stream.stderr()).toBe(0)

    // One clean compaction finishes what the killed ones left.
    const last = await runCli(compactArgs(['--json']), { env: env() })
    expect(last.code, last.stderr).toBe(0)
    expect(compactions).toBeGreaterThan(0)
    expect(killedCompactions).toBeGreaterThan(0)

    // Rows equal Kafka events (3 transactions and 1 message per round), none twice, in the log and on disk.
    const records = await readCommitRecords(lake())
    expect(records.some((r) => r.kind === 'compaction' || (r.merged ?? 0) > 0)).toBe(true)
    for (const [t, per] of [
      ['transactions', 3],
      ['messages', 1],
    ] as const) {
      const files = await listCommittedFiles(lake(), t)
      expect(
        files.reduce((a, f) => a + f.rows, 0),
        t,
      ).toBe(rounds * per)
      expect(await globCount(t), t).toEqual({ n: rounds * per, ids: rounds * per })
    }
    const q = await openLakeQuery({ lake: lake(), cacheDir: path.join(stack.dir, 'cache-a') })
    try {
      const r = await q.query(
        'SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM transactions',
      )
      expect(r.rows).toEqual([{ n: rounds * 3, ids: rounds * 3 }])
    } finally {
      q.close()
    }
  }, 300_000)

  it('a report during a compaction sees exact totals', async () => {
    // Many small files again: a few --once stream runs.
    for (let i = 0; i < 4; i++) {
      await stack.produce(TOPIC, sampleEvents(2, 1000 + i * 2))
      const r = await runCli([...streamArgs(), '--once'], { env: env() })
      expect(r.code, r.stderr).toBe(0)
    }
    const expected = (await listCommittedFiles(lake(), 'transactions')).reduce((a, f) => a + f.rows, 0)
    expect((await listCommittedFiles(lake(), 'transactions')).length).toBeGreaterThan(2)
    const c = spawnCli(compactArgs(['--json']))
    let done = false
    void c.exited.then(() => (done = true))
    let reports = 0
    while (!done || reports === 0) {
      const q = await openLakeQuery({ lake: lake(), cacheDir: path.join(stack.dir, `cache-${reports % 2}`) })
      try {
        const r = await q.query(
          'SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM transactions',
        )
        expect(r.rows, `report ${reports}`).toEqual([{ n: expected, ids: expected }])
      } finally {
        q.close()
      }
      reports++
    }
    expect(await c.exited, c.stderr()).toBe(0)
    expect(JSON.parse(c.stdout()).partitions.length).toBeGreaterThan(0)
    expect((await listCommittedFiles(lake(), 'transactions')).length).toBe(1)
  }, 120_000)
})
