import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listCommittedFiles, newCommitId, publish, readCommitRecords } from '../../src/lib/lake/commit.js'
import { Compactor } from '../../src/lib/lake/compactor.js'
import { dataFilePath } from '../../src/lib/lake/layout.js'
import { openLake } from '../../src/lib/lake/open.js'
import { createParquetWriter, type ParquetWriter } from '../../src/lib/lake/parquet.js'
import type { Lake } from '../../src/lib/lake/types.js'
import { openLakeQuery } from '../../src/lib/report/engine.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { writeRows } from '../helpers/rows.js'

/** `game lake compact` and `game lake expire` as a user runs them, on a file:// lake; the stream's retention. */

let dir: string
let writer: ParquetWriter
let n = 0
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-upkeep-cli-'))
  writer = await createParquetWriter()
})
afterAll(async () => {
  writer.close()
  await rm(dir, { recursive: true, force: true })
})

async function newLake(name: string): Promise<{ url: string; lake: Lake }> {
  const url = pathToFileURL(path.join(dir, name)).href
  await mkdir(path.join(dir, 'local'), { recursive: true })
  return { url, lake: openLake(url, { hdfsUser: 'game' }) }
}

async function flush(lake: Lake, dt: string, rows: number): Promise<void> {
  const commitId = newCommitId()
  const lines = Array.from({ length: rows }, () =>
    JSON.stringify({
      timestamp: Date.parse(`${dt}T01:00:00Z`),
      Host: 'h',
      event_type: 'add_money',
      event_id: `e${n++}`,
    }),
  )
  const localPath = path.join(dir, 'local', `${commitId}.parquet`)
  const w = await writeRows(writer, 'add_money', lines, localPath)
  await publish(lake, {
    commitId,
    seq: n,
    topic: 't',
    group: 'g',
    offsets: { '0': String(n) },
    files: [{ table: 'add_money', path: dataFilePath('add_money', dt, commitId, 0), localPath, ...w }],
  })
}

const env = () => ({ GAME_HOME: path.join(dir, 'home') })

describe('game lake compact / expire (e2e)', () => {
  it('compact --dry-run lists, compact --json rewrites, lake status agrees', async () => {
    const { url, lake } = await newLake('c')
    for (let i = 0; i < 4; i++) await flush(lake, '2026-11-01', 3)
    const dry = await runCli(['lake', 'compact', '--lake', url, '--min-files', '3', '--dry-run', '--json'], {
      env: env(),
    })
    expect(dry.code, dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      partitions: [{ table: 'add_money', filesBefore: 4 }],
    })
    expect(await listCommittedFiles(lake)).toHaveLength(4)

    const r = await runCli(['lake', 'compact', '--lake', url, '--min-files', '3', '--json'], { env: env() })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).totals).toMatchObject({ filesBefore: 4, filesAfter: 1, rows: 12 })
    expect(r.stderr).toMatch(/\[1\/1\] add_money\/dt=2026-11-01: rewriting 4 file/)
    const s = await runCli(['lake', 'status', '--lake', url, '--json'], { env: env() })
    const t = JSON.parse(s.stdout).tables.find((x: { table: string }) => x.table === 'add_money')
    expect(t).toMatchObject({ files: 1, rows: 12 })
    expect(t.lastCompaction).not.toBeNull()

    const text = await runCli(['lake', 'compact', '--lake', url], { env: env() })
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/nothing to compact/)
    const bad = await runCli(['lake', 'compact', '--lake', url, '--grace', 'soon'], { env: env() })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/Invalid --grace/)
  }, 60_000)

  it('expire --older-than: dry run, then one commit; missing horizon is a usage error', async () => {
    const { url, lake } = await newLake('e')
    await flush(lake, '2020-01-01', 2)
    await flush(lake, '2020-01-02', 2)
    const today = new Date().toISOString().slice(0, 10)
    await flush(lake, today, 5)
    const dry = await runCli(['lake', 'expire', '--lake', url, '--older-than', '30d', '--dry-run'], {
      env: env(),
    })
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/would expire 2 partition\(s\)/)
    expect(await listCommittedFiles(lake)).toHaveLength(3)
    const r = await runCli(['lake', 'expire', '--lake', url, '--older-than', '30d', '--json'], { env: env() })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).totals).toEqual({
      partitions: 2,
      files: 2,
      bytes: expect.any(Number),
      rows: 4,
    })
    expect((await listCommittedFiles(lake)).map((f) => f.rows)).toEqual([5])
    const none = await runCli(['lake', 'expire', '--lake', url, '--json'], { env: env() })
    expect(none.code).toBe(2)
    expect(JSON.parse(none.stdout).error.code).toBe('USAGE')
    const viaEnv = await runCli(['lake', 'expire', '--lake', url, '--json'], {
      env: { ...env(), GAME_RETENTION: '1d' },
    })
    expect(viaEnv.code, viaEnv.stderr).toBe(0)
    expect(JSON.parse(viaEnv.stdout).partitions).toEqual([])
  }, 60_000)

  it('a directory-listing reader in a loop during `game lake compact`: never misses a row, never sees one twice once it finished', async () => {
    const { url, lake } = await newLake('loop')
    const dts = ['2026-11-01', '2026-11-02', '2026-11-03']
    for (let i = 0; i < 24; i++) await flush(lake, dts[i % 3], 5)
    const total = 24 * 5
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    const glob = path.join(dir, 'loop', 'add_money', '*', '*.parquet')
    const read = async () => {
      const r = await conn.runAndReadAll(
        `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM read_parquet('${glob}', hive_partitioning = true)`,
      )
      return r.getRowObjectsJS()[0] as { n: number; ids: number }
    }
    const child = spawn(process.execPath, [BIN, 'lake', 'compact', '--lake', url, '--min-files', '2'], {
      cwd: ROOT,
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env() },
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    let finished = false
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        finished = true
        resolve(code)
      }),
    )
    const during: { n: number; ids: number }[] = []
    let vanished = 0
    while (!finished) {
      try {
        during.push(await read())
      } catch (error) {
        // A file moved between DuckDB's listing and its read (Spark can fail the same way): retry.
        expect(String(error)).toMatch(/No such file|No files found|Cannot open|IO Error/i)
        vanished++
      }
    }
    expect(await exited).toBe(0)
    // During: every row is always there (outputs are renamed in before inputs move out); some may show twice.
    for (const d of during) {
      expect(d.ids).toBe(total)
      expect(d.n).toBeGreaterThanOrEqual(total)
    }
    // Once it finished: each row exactly once, in 3 files.
    for (let i = 0; i < 3; i++) expect(await read()).toEqual({ n: total, ids: total })
    expect((await listCommittedFiles(lake)).length).toBe(3)
    conn.closeSync()
    db.closeSync()
    // The reader ran during the compaction (on a busy machine some reads race a rename and retry).
    expect(during.length + vanished).toBeGreaterThan(0)
  }, 60_000)

  it('kill -9 of `game lake compact` right before and right after its commit point: reports exact throughout, the next run repairs', async () => {
    const { url, lake } = await newLake('crash')
    for (let i = 0; i < 6; i++) await flush(lake, '2026-11-05', 4)
    const total = 24
    const glob = path.join(dir, 'crash', 'add_money', '*', '*.parquet')
    const globCount = async () => {
      const { DuckDBInstance } = await import('@duckdb/node-api')
      const db = await DuckDBInstance.create(':memory:')
      const c = await db.connect()
      try {
        return (
          await c.runAndReadAll(
            `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM read_parquet('${glob}', hive_partitioning = true)`,
          )
        ).getRowObjectsJS()[0]
      } finally {
        c.closeSync()
        db.closeSync()
      }
    }
    const report = async () => {
      const q = await openLakeQuery({ lake, cacheDir: path.join(dir, 'crash-cache') })
      try {
        return (
          await q.query('SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM add_money')
        ).rows[0]
      } finally {
        q.close()
      }
    }
    const compact = (crashAt?: string) =>
      runCli(['lake', 'compact', '--lake', url, '--min-files', '2', '--json'], {
        env: { ...env(), ...(crashAt ? { GAME_COMPACT_CRASH_AT: crashAt } : {}) },
      })

    // Killed with its outputs staged, before the commit point: nothing changed for anyone.
    const before = await compact('after-staging')
    expect(before.code).toBeNull()
    expect(await report()).toEqual({ n: total, ids: total })
    expect(await globCount()).toEqual({ n: total, ids: total })
    expect(await listCommittedFiles(lake)).toHaveLength(6)

    // Killed right after the commit point: the log already says "compacted" (reports read the staged
    // output), plain readers still see the old files; the next run finishes the moves.
    const after = await compact('after-commit-record')
    expect(after.code).toBeNull()
    expect(await report()).toEqual({ n: total, ids: total })
    expect(await globCount()).toEqual({ n: total, ids: total })
    const records = await readCommitRecords(lake)
    expect(records.filter((r) => r.kind === 'compaction')).toHaveLength(1)

    const repair = await compact()
    expect(repair.code, repair.stderr).toBe(0)
    expect(JSON.parse(repair.stdout).partitions).toEqual([])
    expect(await report()).toEqual({ n: total, ids: total })
    expect(await globCount()).toEqual({ n: total, ids: total })
    expect((await listCommittedFiles(lake)).map((f) => f.rows)).toEqual([total])
  }, 90_000)

  it("the stream's compactor applies the retention and compacts closed partitions", async () => {
    const { lake } = await newLake('s')
    await flush(lake, '2020-03-01', 1)
    await flush(lake, '2026-11-01', 1)
    await flush(lake, '2026-11-01', 1)
    const events: string[] = []
    const c = new Compactor(lake, {
      retentionMs: 365 * 86_400_000,
      checkEveryMs: 0,
      onEvent: (e) => events.push(e),
      onWarning: (w) => events.push(`warning: ${w}`),
      now: () => Date.parse('2026-12-01T00:00:00Z'),
    })
    c.maybeCompact()
    await c.idle()
    await c.close()
    expect(events).toEqual([
      'expired 1 partition(s) before 2025-12-01 (1 files)',
      'compacted add_money/dt=2026-11-01: 2 → 1 files',
    ])
    expect((await listCommittedFiles(lake)).map((f) => f.path.split('/')[1])).toEqual(['dt=2026-11-01'])
  }, 60_000)
})
