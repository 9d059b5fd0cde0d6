/**
 * Report benchmark: builds a file:// lake of N events (DuckDB-generated Parquet with the catalog's
 * columns, one file per table and day, one commit record per day), then times
 *   1. `node bin/run.js report balances --json` (the whole CLI: start-up, snapshot, DuckDB, JSON),
 *   2. the same SQL run by DuckDB directly on the same files: in this process (warm, instance
 *      included) and in a fresh process (its native library load included, like a `duckdb` CLI run),
 *   3. `node bin/run.js --version` (CLI start-up alone).
 * Target: report <= 1.3 x DuckDB + start-up, start-up <= 0.4 s. Wall and CPU (user + sys) seconds are
 * both reported: on a loaded shared machine wall time mostly measures the run queue.
 *
 *   npx tsc -p tsconfig.build.json && npx tsx bench/report.ts --events 10000000
 *   (default --events 1000000 --days 10 --runs 3; --keep leaves the lake for inspection)
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { type TableName, tableColumns } from '../src/lib/events/catalog.js'
import { type CommitRecord, commitRecordPath, dataFilePath } from '../src/lib/lake/layout.js'
import { BALANCES_SQL } from '../src/lib/report/reports.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    players: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
})
const events = Number(values.events)
const days = Number(values.days)
const players = Number(values.players)
const runs = Number(values.runs)

/** The generated event i: 30% add_money, 40% sword, 30% knife; spread evenly over the days. */
function eventsSql(from: number, to: number, day: string, where: string): string {
  const cols = tableColumns('transactions').map((c) => `"${c.name}"`)
  return `WITH e AS (
    SELECT i,
      CASE WHEN i % 10 < 3 THEN 'add_money' WHEN i % 10 < 7 THEN 'purchase_sword' ELSE 'purchase_knife' END AS event_type,
      'player' || (hash(i) % ${players}) || '.example.com' AS Host,
      TIMESTAMP '${day} 00:00:00' + to_microseconds(((i - ${from}) * 86400000000 // ${Math.max(1, to - from)})::BIGINT) AS timestamp
    FROM range(${from}, ${to}) t(i)
  ), f AS (
    SELECT *,
      CASE WHEN event_type = 'add_money' THEN 1 + i % 100 ELSE -10 END::BIGINT AS amount,
      CASE WHEN event_type = 'add_money' THEN 'money' WHEN event_type = 'purchase_sword' THEN 'Great Sword' ELSE '' END AS description,
      uuid()::VARCHAR AS event_id,
      '*/*' AS Accept, 'ApacheBench/2.3' AS "User-Agent"
    FROM e
  )
  SELECT json_object('event_type', event_type, 'Host', Host, 'amount', amount, 'description', description,
      'event_id', event_id, 'Accept', Accept, 'User-Agent', "User-Agent")::VARCHAR AS raw_event,
    ${cols.filter((c) => c !== '"raw_event"').join(', ')}
  FROM f WHERE ${where}`
}

async function buildLake(root: string): Promise<{ files: string[]; bytes: number; seconds: number }> {
  const t0 = performance.now()
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  const files: string[] = []
  let bytes = 0
  const perDay = Math.ceil(events / days)
  for (let d = 0; d < days; d++) {
    const from = d * perDay
    const to = Math.min(events, from + perDay)
    if (from >= to) break
    const day = new Date(Date.UTC(2026, 10, 1 + d)).toISOString().slice(0, 10)
    const commitId = `bench${String(d).padStart(4, '0')}`
    const record: CommitRecord = {
      formatVersion: 1,
      commitId,
      seq: d + 1,
      createdAt: new Date().toISOString(),
      topic: 'game_events',
      group: 'game-stream',
      offsets: { '0': String(to) },
      files: [],
    }
    const tables: [TableName, string][] = [
      ['transactions', 'true'],
      ['add_money', "event_type = 'add_money'"],
      ['purchases', "event_type <> 'add_money'"],
    ]
    let n = 0
    for (const [table, where] of tables) {
      const rel = dataFilePath(table, day, commitId, n++)
      const file = path.join(root, ...rel.split('/'))
      await mkdir(path.dirname(file), { recursive: true })
      const cols = tableColumns(table).map((c) => `"${c.name}"`)
      await conn.run(
        `COPY (SELECT ${cols.join(', ')} FROM (${eventsSql(from, to, day, where)})) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`,
      )
      const size = (await stat(file)).size
      const rows = Number(
        (await conn.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${file}')`)).getRows()[0][0] as bigint,
      )
      record.files.push({ table, path: rel, rows, bytes: size })
      bytes += size
      if (table === 'transactions') files.push(file)
    }
    const recordFile = path.join(root, ...commitRecordPath(record.seq, commitId).split('/'))
    await mkdir(path.dirname(recordFile), { recursive: true })
    await writeFile(recordFile, JSON.stringify(record))
  }
  conn.closeSync()
  db.closeSync()
  return { files, bytes, seconds: (performance.now() - t0) / 1000 }
}

const TIME_MARK = '@@game-bench-cpu'

/** Wall and CPU (user + sys, via /usr/bin/time) seconds of one CLI run. */
function timeCli(
  args: string[],
  env: Record<string, string>,
): { seconds: number; cpu: number; stdout: string } {
  const t0 = performance.now()
  const r = spawnSync('/usr/bin/time', ['-f', `${TIME_MARK} %U %S`, process.execPath, BIN, ...args], {
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  })
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const m = new RegExp(`${TIME_MARK} ([\\d.]+) ([\\d.]+)`).exec(r.stderr)
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN, stdout: r.stdout }
}

/** Wall and CPU seconds (whole process, all DuckDB threads) of the same SQL run directly. */
async function timeDuckDb(files: string[]): Promise<{ seconds: number; cpu: number; rows: number }> {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  const list = files.map((f) => `'${f}'`).join(', ')
  await conn.run(
    `CREATE VIEW transactions AS SELECT * FROM read_parquet([${list}], hive_partitioning = true, union_by_name = true)`,
  )
  const { VARCHAR, INTEGER } = await import('@duckdb/node-api')
  const r = await conn.runAndReadAll(
    BALANCES_SQL,
    { host: null, since: null, until: null, limit: 2_147_483_647 },
    { host: VARCHAR, since: VARCHAR, until: VARCHAR, limit: INTEGER },
  )
  const rows = r.getRowObjectsJS().length
  conn.closeSync()
  db.closeSync()
  const c = process.cpuUsage(c0)
  return { seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, rows }
}

const round = (x: number) => Number(x.toFixed(3))
/** The same SQL by DuckDB in a fresh Node process (its native library load included, like a `duckdb` CLI run). */
function timeDuckDbProcess(files: string[]): { seconds: number; cpu: number; rows: number } {
  const script = `
    const { DuckDBInstance, VARCHAR, INTEGER } = await import('@duckdb/node-api')
    const { files, sql } = JSON.parse(process.env.BENCH_INPUT)
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    await conn.run('CREATE VIEW transactions AS SELECT * FROM read_parquet([' + files.map((f) => "'" + f + "'").join(', ') + '], hive_partitioning = true, union_by_name = true)')
    const r = await conn.runAndReadAll(sql, { host: null, since: null, until: null, limit: 2147483647 }, { host: VARCHAR, since: VARCHAR, until: VARCHAR, limit: INTEGER })
    process.stdout.write(String(r.getRowObjectsJS().length))`
  const t0 = performance.now()
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', `${TIME_MARK} %U %S`, process.execPath, '--input-type=module', '-e', script],
    {
      cwd: ROOT,
      env: { ...process.env, BENCH_INPUT: JSON.stringify({ files, sql: BALANCES_SQL }) },
      encoding: 'utf8',
    },
  )
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`duckdb process exited ${r.status}: ${r.stderr}`)
  const m = new RegExp(`${TIME_MARK} ([\\d.]+) ([\\d.]+)`).exec(r.stderr)
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN, rows: Number(r.stdout) }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const dir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-report-'))
try {
  const lakeDir = path.join(dir, 'lake')
  process.stderr.write(`building a lake of ${events.toLocaleString('en-US')} events over ${days} days...\n`)
  const built = await buildLake(lakeDir)
  process.stderr.write(
    `built in ${built.seconds.toFixed(1)} s: ${(built.bytes / 1e6).toFixed(1)} MB of Parquet (3 tables)\n`,
  )
  const env = { GAME_HOME: path.join(dir, 'home'), GAME_LAKE: pathToFileURL(lakeDir).href }

  timeCli(['--version'], env) // warm the file cache
  const cli: number[] = []
  const duck: number[] = []
  const startup: number[] = []
  const cliCpu: number[] = []
  const duckCpu: number[] = []
  const startupCpu: number[] = []
  const duckProc: number[] = []
  const duckProcCpu: number[] = []
  let reportRows = 0
  let duckRows = 0
  for (let i = 0; i < runs; i++) {
    const r = timeCli(['report', 'balances', '--json'], env)
    reportRows = JSON.parse(r.stdout).rows.length
    cli.push(r.seconds)
    cliCpu.push(r.cpu)
    const d = await timeDuckDb(built.files)
    duckRows = d.rows
    duck.push(d.seconds)
    duckCpu.push(d.cpu)
    const p = timeDuckDbProcess(built.files)
    if (p.rows !== duckRows)
      throw new Error(`row counts differ: duckdb process ${p.rows}, duckdb ${duckRows}`)
    duckProc.push(p.seconds)
    duckProcCpu.push(p.cpu)
    const v = timeCli(['--version'], env)
    startup.push(v.seconds)
    startupCpu.push(v.cpu)
  }
  if (reportRows !== duckRows) throw new Error(`row counts differ: cli ${reportRows}, duckdb ${duckRows}`)
  const result = {
    events,
    days,
    players,
    parquetMB: Number((built.bytes / 1e6).toFixed(1)),
    runs,
    wall: {
      reportSeconds: round(median(cli)),
      duckdbSeconds: round(median(duck)),
      duckdbProcessSeconds: round(median(duckProc)),
      startupSeconds: round(median(startup)),
      reportMinusStartupOverDuckdb: round((median(cli) - median(startup)) / median(duck)),
      reportMinusStartupOverDuckdbProcess: round((median(cli) - median(startup)) / median(duckProc)),
      targetMet: median(cli) <= 1.3 * median(duckProc) + median(startup) && median(startup) <= 0.4,
    },
    cpu: {
      reportSeconds: round(median(cliCpu)),
      duckdbSeconds: round(median(duckCpu)),
      duckdbProcessSeconds: round(median(duckProcCpu)),
      startupSeconds: round(median(startupCpu)),
      reportMinusStartupOverDuckdb: round((median(cliCpu) - median(startupCpu)) / median(duckCpu)),
      reportMinusStartupOverDuckdbProcess: round((median(cliCpu) - median(startupCpu)) / median(duckProcCpu)),
      targetMet:
        median(cliCpu) <= 1.3 * median(duckProcCpu) + median(startupCpu) && median(startupCpu) <= 0.4,
    },
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    cpus: os.cpus().length,
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
} finally {
  if (values.keep) process.stderr.write(`lake kept in ${dir}\n`)
  else await rm(dir, { recursive: true, force: true })
}
