// bench/lake.ts — `npx tsx bench/lake.ts [--commits 2880] [--rows 100] [--runs 3]`
// A file:// lake with --commits small commits (a day of `game stream` at the default 30 s interval:
// 2,880 flushes; one transactions file of --rows rows each, checkpointed every 50 as the stream
// does) against the same rows in one commit. Times `game report balances --json` as a whole
// process (spawn to exit, median of --runs) on: (a) the small-commit lake, (b) the same lake after
// `game lake compact` (timed too), (c) the one-commit lake. Target: (b) / (c) <= 1.2.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { newCommitId, publish, writeCheckpoint } from '../src/lib/lake/commit.js'
import { dataFilePath } from '../src/lib/lake/layout.js'
import { openLake } from '../src/lib/lake/open.js'
import type { Lake } from '../src/lib/lake/types.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
if (process.argv.includes('--help')) {
  process.stdout.write(
    'npx tsx bench/lake.ts [--commits 2880] [--rows 100] [--runs 3]: report balances on a lake of small commits, after game lake compact, and on one commit\n',
  )
  process.exit(0)
}
const COMMITS = Number(arg('commits', '2880'))
const ROWS = Number(arg('rows', '100'))
const RUNS = Number(arg('runs', '3'))
const DT = '2026-11-28'

/** The SELECT of `rows` transactions rows starting at event number `first` (1000 players). */
function rowsSql(first: number, rows: number): string {
  return `SELECT '{"event_type":"add_money","amount":' || (i % 97) || ',"pad":"' || repeat('x', 120) || '"}' AS raw_event,
    TIMESTAMPTZ '${DT} 00:00:00+00' + to_milliseconds(i * 30) AS "timestamp", '*/*' AS "Accept",
    'user' || (i % 1000) || '.comcast.com' AS "Host", 'ApacheBench/2.3' AS "User-Agent",
    CASE WHEN i % 3 = 0 THEN 'purchase_sword' ELSE 'add_money' END AS event_type,
    CASE WHEN i % 3 = 0 THEN -10 ELSE 100 + i % 50 END::BIGINT AS amount, 'money' AS description,
    'ev-' || i AS event_id
    FROM range(${first}, ${first + rows}) t(i)`
}

async function buildLake(lake: Lake, scratch: string, commits: number, rowsPer: number): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:', { threads: '1' })
  const c = await db.connect()
  await mkdir(scratch, { recursive: true })
  try {
    for (let n = 0; n < commits; n++) {
      const commitId = newCommitId()
      const local = path.join(scratch, `${commitId}.parquet`)
      await c.run(
        `COPY (${rowsSql(n * rowsPer, rowsPer)}) TO '${local}' (FORMAT parquet, COMPRESSION snappy)`,
      )
      const { size } = await (await import('node:fs/promises')).stat(local)
      await publish(lake, {
        commitId,
        seq: n + 1,
        topic: 'bench',
        group: 'bench',
        offsets: { '0': String((n + 1) * rowsPer) },
        files: [
          {
            table: 'transactions',
            path: dataFilePath('transactions', DT, commitId, 0),
            localPath: local,
            rows: rowsPer,
            bytes: size,
          },
        ],
      })
      await rm(local)
      if ((n + 1) % 50 === 0) await writeCheckpoint(lake)
      if ((n + 1) % 500 === 0) process.stderr.write(`  ${n + 1}/${commits} commits\n`)
    }
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

function timeCli(args: string[], home: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, CI: '1', NO_COLOR: '1', GAME_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`game ${args.join(' ')} exited ${code}: ${err}`))
      else resolve({ ms: performance.now() - t0, stdout: out })
    })
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function balances(
  url: string,
  home: string,
): Promise<{ median: number; all: number[]; digest: string }> {
  const all: number[] = []
  let digest = ''
  for (let i = 0; i < RUNS; i++) {
    const r = await timeCli(['report', 'balances', '--lake', url, '--json'], home)
    all.push(Math.round(r.ms))
    digest = r.stdout
  }
  return { median: median(all), all, digest }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-lake-'))
  const home = path.join(dir, 'home')
  try {
    const smallUrl = pathToFileURL(path.join(dir, 'small')).href
    const oneUrl = pathToFileURL(path.join(dir, 'one')).href
    process.stderr.write(`building ${COMMITS} commits x ${ROWS} rows ...\n`)
    let t = performance.now()
    await buildLake(openLake(smallUrl, { hdfsUser: 'game' }), path.join(dir, 'scratch'), COMMITS, ROWS)
    const buildMs = performance.now() - t
    await buildLake(openLake(oneUrl, { hdfsUser: 'game' }), path.join(dir, 'scratch'), 1, COMMITS * ROWS)

    const before = await balances(smallUrl, home)
    process.stderr.write(`before compaction: ${before.all.join(' / ')} ms\n`)
    t = performance.now()
    const compact = await timeCli(['lake', 'compact', '--lake', smallUrl, '--json'], home)
    const compactMs = performance.now() - t
    const compacted = JSON.parse(compact.stdout)
    const after = await balances(smallUrl, home)
    process.stderr.write(`after compaction: ${after.all.join(' / ')} ms\n`)
    const one = await balances(oneUrl, home)
    process.stderr.write(`one commit: ${one.all.join(' / ')} ms\n`)
    if (after.digest !== one.digest || before.digest !== one.digest)
      throw new Error('the three lakes gave different balances')
    const ratio = after.median / one.median
    const summary = {
      commits: COMMITS,
      rowsPerCommit: ROWS,
      rows: COMMITS * ROWS,
      buildSeconds: Math.round(buildMs / 100) / 10,
      compact: { ms: Math.round(compactMs), ...compacted.totals },
      balancesMs: { beforeCompaction: before, afterCompaction: after, oneCommit: one },
      ratioAfterToOne: Math.round(ratio * 100) / 100,
      ratioBeforeToOne: Math.round((before.median / one.median) * 100) / 100,
      target: 'after / one-commit <= 1.2',
      loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
    }
    for (const k of ['beforeCompaction', 'afterCompaction', 'oneCommit'] as const)
      (summary.balancesMs[k] as { digest?: string }).digest = undefined
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
