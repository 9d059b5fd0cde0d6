import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  listCommittedFiles,
  newCommitId,
  type PublishStep,
  publish,
  readCommitRecords,
  readLakeState,
  recover,
  stateRecords,
  writeCheckpoint,
} from '../../../src/lib/lake/commit.js'
import {
  type CommitRecord,
  checkpointRecords,
  dataFilePath,
  ID_HORIZON_MS,
  liveFiles,
  MAX_COMMIT_AGE_MS,
  mergeState,
  REMOVED_DIR,
  STAGING_DIR,
} from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { createParquetWriter, type ParquetWriter } from '../../../src/lib/lake/parquet.js'
import { lakeStatus } from '../../../src/lib/lake/status.js'
import type { Lake } from '../../../src/lib/lake/types.js'
import {
  compactLake,
  expireLake,
  parseDuration,
  parseSize,
  planCompaction,
  purgeRemoved,
} from '../../../src/lib/lake/upkeep.js'
import { openLakeQuery } from '../../../src/lib/report/engine.js'
import { writeRows } from '../../helpers/rows.js'

let dir: string
let local: string
let lake: Lake
let writer: ParquetWriter
let seq = 0
let eventNo = 0

beforeAll(async () => {
  writer = await createParquetWriter()
})
afterAll(() => writer.close())
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-upkeep-'))
  local = path.join(dir, 'local')
  await mkdir(local)
  lake = openLake(pathToFileURL(path.join(dir, 'lake')).href, { hdfsUser: 'game' })
  seq = 0
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** One flush commit adding a purchases file of `rows` rows on `dt` (hosts in reverse order). */
async function flush(dt: string, rows: number): Promise<string> {
  const commitId = newCommitId()
  const lines: string[] = []
  for (let i = 0; i < rows; i++) {
    const n = eventNo++
    lines.push(
      JSON.stringify({
        raw_event: '{}',
        timestamp: Date.parse(`${dt}T00:00:00Z`) + n,
        Host: `player-${String(1000 - (n % 7)).padStart(4, '0')}`,
        event_type: 'purchase',
        event_id: `e${n}`,
      }),
    )
  }
  const localPath = path.join(local, `${commitId}.parquet`)
  const written = await writeRows(writer, 'purchases', lines, localPath)
  seq++
  await publish(lake, {
    commitId,
    seq,
    topic: 't',
    group: 'g',
    offsets: { '0': String(eventNo) },
    files: [{ table: 'purchases', path: dataFilePath('purchases', dt, commitId, 0), localPath, ...written }],
  })
  return commitId
}

/** What a directory-listing reader (no commit log) sees: DuckDB over a glob with hive partitioning. */
async function globRows(): Promise<{ rows: number; ids: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  try {
    const glob = path.join(dir, 'lake', 'purchases', '*', '*.parquet')
    const r = await c.runAndReadAll(
      `SELECT count(*)::INTEGER AS rows, count(DISTINCT event_id)::INTEGER AS ids FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true)`,
    )
    return r.getRowObjectsJS()[0] as { rows: number; ids: number }
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

describe('planning and parsing', () => {
  it('picks partitions with at least minFiles small files, and only the small files', () => {
    const f = (dt: string, n: number, bytes: number) => ({
      table: 'purchases' as const,
      path: dataFilePath('purchases', dt, `c${n}-aa`, 0),
      rows: 1,
      bytes,
    })
    const files = [
      f('2026-01-01', 1, 10),
      f('2026-01-01', 2, 10),
      f('2026-01-01', 3, 1000),
      f('2026-01-02', 4, 10),
    ]
    const plan = planCompaction(files, { minFiles: 2, targetSizeBytes: 1000 })
    expect(plan.map((p) => [p.dt, p.files.length])).toEqual([['2026-01-01', 2]])
    expect(planCompaction(files, { minFiles: 3, targetSizeBytes: 1000 })).toEqual([])
    expect(parseDuration('90d')).toBe(90 * 86_400_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseSize('128MiB')).toBe(128 * 1024 * 1024)
    expect(parseSize('1MB')).toBe(1_000_000)
    expect(() => parseSize('lots')).toThrow(/not a size/)
  })

  it('live files are union(added) - union(removed), whatever the order', () => {
    const a = {
      table: 'purchases' as const,
      path: 'purchases/dt=2026-01-01/part-a-00000.parquet',
      rows: 1,
      bytes: 1,
    }
    const b = {
      table: 'purchases' as const,
      path: 'purchases/dt=2026-01-01/part-b-00000.parquet',
      rows: 2,
      bytes: 1,
    }
    const flushA = { seq: 1, files: [a] }
    const compaction = { seq: 2, files: [b], removed: [a.path] }
    expect(liveFiles([flushA, compaction])).toEqual([b])
    expect(liveFiles([compaction, flushA])).toEqual([b])
    // Two checkpoints written side by side: one before the compaction, one after.
    const before = { seq: 1, commitIds: ['a'], lastCommitAt: '', offsets: {}, files: [a] }
    const after = {
      seq: 2,
      commitIds: ['a', 'c'],
      lastCommitAt: '',
      offsets: {},
      files: [b],
      removed: [a.path],
    }
    expect(mergeState([before, after], []).files).toEqual([b])
    expect(mergeState([after, before], []).files).toEqual([b])
    // Real commit ids: the removal is pruned from a checkpoint that merged the adding commit, and
    // merging it with an older checkpoint that still lists the file stays exact.
    const x = { ...a, path: dataFilePath('purchases', '2026-01-01', 'mabc00001-0a1b2c', 0) }
    const y = { ...b, path: dataFilePath('purchases', '2026-01-01', 'mabc00002-0d1e2f', 0) }
    const flushX = {
      formatVersion: 1 as const,
      commitId: 'mabc00001-0a1b2c',
      seq: 1,
      createdAt: '1',
      topic: 't',
      group: 'g',
      offsets: { '0': '5' },
      files: [x],
    }
    const compactXY = {
      formatVersion: 1 as const,
      commitId: 'mabc00002-0d1e2f',
      seq: 2,
      createdAt: '2',
      topic: '',
      group: '',
      offsets: {},
      files: [y],
      removed: [x.path],
      kind: 'compaction' as const,
    }
    const old = mergeState([], [flushX])
    const pruned = mergeState([old], [compactXY])
    expect(pruned.files).toEqual([y])
    expect(pruned.removed).toBeUndefined()
    expect(mergeState([pruned, old], []).files).toEqual([y])
    expect(mergeState([old, pruned], []).files).toEqual([y])
    // Without the adding commit merged, the removal is kept.
    expect(mergeState([], [compactXY]).removed).toEqual([x.path])
    expect(mergeState([mergeState([], [compactXY]), old], []).files).toEqual([y])
  })
})

describe('bounded checkpoints (commit-id horizon)', () => {
  const day = 86_400_000
  const t0 = Date.parse('2026-11-01T00:00:00Z')
  const rec = (at: number, n: number, extra: Partial<CommitRecord> = {}): CommitRecord => {
    const commitId = newCommitId(at)
    return {
      formatVersion: 1,
      commitId,
      seq: n,
      createdAt: new Date(at).toISOString(),
      topic: 't',
      group: 'g',
      offsets: { '0': String(n) },
      files: [
        { table: 'purchases', path: dataFilePath('purchases', '2026-11-01', commitId, 0), rows: 1, bytes: 1 },
      ],
      ...extra,
    }
  }

  it('ids older than the horizon leave the list but stay merged; counts, files and removals stay exact', () => {
    const old1 = rec(t0, 1)
    const old2 = rec(t0 + 1000, 2)
    const recent = rec(t0 + 3 * day, 3)
    const first = mergeState([], [old1, old2])
    expect(first.commitIds).toEqual([old1.commitId, old2.commitId])
    const cp = mergeState([first], [recent])
    expect(cp.commitIds).toEqual([recent.commitId])
    expect(cp.mergedEarlier).toBe(2)
    expect(cp.mergedBefore).toBe(t0 + 3 * day - ID_HORIZON_MS)
    expect(cp.files).toHaveLength(3)
    expect(cp.offsets).toEqual({ t: { '0': '3' } })
    const standIn = checkpointRecords({ ...cp, id: 'x', createdAt: '' })
    expect(standIn[0].merged).toBe(3)
    // A record the checkpoint merged long ago is not merged again; nor counted twice beside an older checkpoint.
    const again = mergeState([cp], [old1])
    expect(again.commitIds).toEqual([recent.commitId])
    expect(again.mergedEarlier).toBe(2)
    const side = mergeState([cp, first], [])
    expect(side.commitIds).toEqual([recent.commitId])
    expect(side.mergedEarlier).toBe(2)
    expect(side.files).toHaveLength(3)
    // A compaction of old files: the removal is pruned (adder merged before the horizon), and an
    // older checkpoint that still lists them cannot bring them back.
    const compact = rec(t0 + 3 * day + 1, 4, {
      topic: '',
      offsets: {},
      kind: 'compaction',
      removed: [old1.files[0].path, old2.files[0].path],
    })
    const after = mergeState([cp], [compact])
    expect(after.removed).toBeUndefined()
    expect(after.files.map((f) => f.path)).toEqual([recent.files[0].path, compact.files[0].path])
    expect(
      mergeState([after, first], [])
        .files.map((f) => f.path)
        .sort(),
    ).toEqual([recent.files[0].path, compact.files[0].path].sort())
    // Stand-ins of the lake's state skip records merged before the horizon.
    const cpFull = {
      ...after,
      id: 'y',
      createdAt: '',
      covers: { commits: [], checkpoints: [] },
      formatVersion: 1 as const,
    }
    expect(stateRecords({ checkpoints: [cpFull], records: [old2] }).map((r) => r.commitId)).toEqual([
      'checkpoint-y',
    ])
  })

  it('publish refuses a commit whose id is older than a commit may take; recovery rolls it back', async () => {
    const commitId = newCommitId(Date.now() - MAX_COMMIT_AGE_MS - 60_000)
    const localPath = path.join(local, 'old.parquet')
    const w = await writeRows(
      writer,
      'purchases',
      [JSON.stringify({ event_id: 'x', timestamp: 0 })],
      localPath,
    )
    await expect(
      publish(lake, {
        commitId,
        seq: 1,
        topic: 't',
        group: 'g',
        offsets: { '0': '1' },
        files: [
          { table: 'purchases', path: dataFilePath('purchases', '2026-11-01', commitId, 0), localPath, ...w },
        ],
      }),
    ).rejects.toMatchObject({ code: 'LAKE_COMMIT_TOO_OLD' })
    expect(await readCommitRecords(lake)).toEqual([])
    expect((await recover(lake)).rolledBack).toEqual([commitId])
  })
})

describe('compaction', () => {
  it('rewrites a partition into one sorted file; plain readers and the log agree, removed files wait in _game/removed', async () => {
    for (let i = 0; i < 12; i++) await flush('2026-11-01', 5)
    for (let i = 0; i < 3; i++) await flush('2026-11-02', 4)
    expect(await globRows()).toEqual({ rows: 72, ids: 72 })

    const events: string[] = []
    const result = await compactLake(lake, { minFiles: 10, onProgress: (e) => events.push(e.phase) })
    expect(result.partitions).toHaveLength(1)
    expect(result.partitions[0]).toMatchObject({
      table: 'purchases',
      dt: '2026-11-01',
      filesBefore: 12,
      filesAfter: 1,
      rows: 60,
    })
    expect(events).toEqual(['plan', 'partition', 'committed'])

    const files = await listCommittedFiles(lake, 'purchases')
    expect(files.filter((f) => f.path.includes('2026-11-01'))).toHaveLength(1)
    expect(files.filter((f) => f.path.includes('2026-11-02'))).toHaveLength(3)
    expect(await globRows()).toEqual({ rows: 72, ids: 72 })
    const cid = result.partitions[0].commitId as string
    const moved = await readdir(path.join(dir, 'lake', REMOVED_DIR, cid, 'purchases', 'dt=2026-11-01'))
    expect(moved).toHaveLength(12)
    expect(await lake.list(STAGING_DIR)).toEqual([])

    // Sorted by Host, then timestamp.
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    const out = files.find((f) => f.path.includes('2026-11-01'))!
    const rows = (
      await c.runAndReadAll(
        `SELECT "Host" AS h, epoch_ms("timestamp") AS t FROM read_parquet('${lake.localPath(out.path)}')`,
      )
    ).getRowObjectsJS() as { h: string; t: bigint }[]
    c.closeSync()
    db.closeSync()
    const sorted = [...rows].sort((x, y) => x.h.localeCompare(y.h) || Number(x.t - y.t))
    expect(rows).toEqual(sorted)
    expect(rows[0].h).toBe('player-0994')

    // A second run finds nothing to do; a dry run changes nothing.
    expect((await compactLake(lake, { minFiles: 2, dt: '2026-11-01' })).partitions).toEqual([])
    const dry = await compactLake(lake, { minFiles: 2, dryRun: true })
    expect(dry.partitions.map((p) => [p.dt, p.filesBefore])).toEqual([['2026-11-02', 3]])
    expect(await listCommittedFiles(lake, 'purchases')).toHaveLength(4)

    // After the grace period the removed files go.
    expect((await purgeRemoved(lake, { graceMs: 3_600_000 })).deleted).toEqual([])
    const purged = await purgeRemoved(lake, { graceMs: 3_600_000, now: Date.now() + 3_600_001 })
    expect(purged.deleted).toEqual([`${REMOVED_DIR}/${cid}`])
    expect(await lake.list(REMOVED_DIR)).toEqual([])
  })

  it("a compacted file's schema is the union of its inputs'", async () => {
    await flush('2026-11-01', 3)
    // A file written by a newer catalog with an extra optional column.
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    const commitId = newCommitId()
    const localPath = path.join(local, 'extra.parquet')
    await c.run(
      `COPY (SELECT '{}' AS raw_event, TIMESTAMPTZ '2026-11-01 01:00:00+00' AS "timestamp", 'player-0001' AS "Host", 'purchase' AS event_type, 'x1' AS event_id, 7::BIGINT AS bonus) TO '${localPath}' (FORMAT parquet)`,
    )
    await publish(lake, {
      commitId,
      seq: ++seq,
      topic: 't',
      group: 'g',
      offsets: {},
      files: [
        {
          table: 'purchases',
          path: dataFilePath('purchases', '2026-11-01', commitId, 0),
          localPath,
          rows: 1,
          bytes: 100,
        },
      ],
    })
    const result = await compactLake(lake, { minFiles: 2 })
    expect(result.partitions[0]).toMatchObject({ filesBefore: 2, filesAfter: 1, rows: 4 })
    const [out] = await listCommittedFiles(lake, 'purchases')
    const r = (
      await c.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(bonus)::INTEGER AS b, max(bonus)::INTEGER AS m, count(amount)::INTEGER AS a FROM read_parquet('${lake.localPath(out.path)}')`,
      )
    ).getRowObjectsJS()[0]
    c.closeSync()
    db.closeSync()
    expect(r).toEqual({ n: 4, b: 1, m: 7, a: 0 })
  })

  it('a report opened before a compaction still sees exact totals after it', async () => {
    for (let i = 0; i < 6; i++) await flush('2026-11-01', 5)
    const q = await openLakeQuery({ lake, cacheDir: path.join(dir, 'cache') })
    try {
      await compactLake(lake, { minFiles: 2 })
      const r = await q.query(
        'SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS d FROM purchases',
      )
      expect(r.rows).toEqual([{ n: 30, d: 30 }])
      expect(q.snapshot.tables.find((t) => t.name === 'purchases')?.files).toHaveLength(1)
    } finally {
      q.close()
    }
  })

  it('recovery finishes a compaction killed after its commit point and rolls back one killed before', async () => {
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await flush('2026-11-01', 2))
    const before = await listCommittedFiles(lake, 'purchases')
    const crashAt = async (step: PublishStep) => {
      const commitId = newCommitId()
      const localPath = path.join(local, `${commitId}.parquet`)
      const w = await writeRows(
        writer,
        'purchases',
        [JSON.stringify({ event_id: 'merged', timestamp: 0 })],
        localPath,
      )
      await expect(
        publish(
          lake,
          {
            commitId,
            seq: ++seq,
            topic: '',
            group: '',
            offsets: {},
            kind: 'compaction',
            removed: before.map((f) => f.path),
            files: [
              {
                table: 'purchases',
                path: dataFilePath('purchases', '2026-11-01', commitId, 0),
                localPath,
                ...w,
              },
            ],
          },
          {
            onStep: (s) => {
              if (s === step) throw new Error(`killed ${s}`)
            },
          },
        ),
      ).rejects.toThrow(/killed/)
      return commitId
    }
    // Killed before the commit point: the outputs are orphans, rolled back; nothing changed.
    const orphan = await crashAt('after-staging')
    expect((await recover(lake)).rolledBack).toEqual([orphan])
    expect(await listCommittedFiles(lake, 'purchases')).toEqual(before)
    expect(await globRows()).toEqual({ rows: 8, ids: 8 })

    // Killed right after the commit point: log readers see the new state at once; recovery moves the files.
    const done = await crashAt('after-commit-record')
    expect((await recover(lake)).rolledForward).toEqual([done])
    const after = await listCommittedFiles(lake, 'purchases')
    expect(after.map((f) => f.rows)).toEqual([1])
    expect(await globRows()).toEqual({ rows: 1, ids: 1 })
    expect(
      await readdir(path.join(dir, 'lake', REMOVED_DIR, done, 'purchases', 'dt=2026-11-01')),
    ).toHaveLength(4)
  })

  it('checkpoints keep removals: the state after a checkpoint equals the state before', async () => {
    for (let i = 0; i < 5; i++) await flush('2026-11-01', 2)
    await writeCheckpoint(lake)
    await compactLake(lake, { minFiles: 2 })
    const beforeCp = (await listCommittedFiles(lake)).map((f) => f.path)
    const { checkpoint } = await writeCheckpoint(lake)
    expect(checkpoint?.files.map((f) => f.path)).toEqual(beforeCp)
    // The removals are pruned: the checkpoint merged the commits that added those files.
    expect(checkpoint?.removed).toBeUndefined()
    const state = await readLakeState(lake)
    expect(state.records).toEqual([])
    expect((await listCommittedFiles(lake)).map((f) => f.path)).toEqual(beforeCp)
    // `game lake status` still knows the last compaction once its record is merged.
    expect(Object.keys(checkpoint?.lastCompaction ?? {})).toEqual(['purchases'])
    const status = await lakeStatus(lake)
    expect(status.tables.find((t) => t.table === 'purchases')?.lastCompaction).toBe(
      checkpoint?.lastCompaction?.purchases,
    )
    // Offsets untouched by the compaction record.
    expect(checkpoint?.offsets).toEqual({ t: { '0': String(eventNo) } })
  })

  it('skips a partition whose lease another compaction holds', async () => {
    for (let i = 0; i < 3; i++) await flush('2026-11-01', 1)
    await lake.writeFile('_game/locks/purchases-dt=2026-11-01.lock', JSON.stringify({ owner: 'other' }))
    const r = await compactLake(lake, { minFiles: 2 })
    expect(r.partitions[0].skipped).toMatch(/lease/)
    expect(await listCommittedFiles(lake, 'purchases')).toHaveLength(3)
    // A stale lease (left by a killed process) is taken over.
    const r2 = await compactLake(lake, { minFiles: 2, leaseMs: 0 })
    expect(r2.partitions[0]).toMatchObject({ filesBefore: 3, filesAfter: 1 })
  })
})

describe('expiry', () => {
  it('drops whole dt partitions past the horizon in one commit; dry run lists them', async () => {
    await flush('2026-01-01', 2)
    await flush('2026-01-01', 2)
    await flush('2026-02-01', 3)
    await flush('2026-03-01', 4)
    const now = Date.parse('2026-04-15T12:00:00Z')
    const dry = await expireLake(lake, { olderThanMs: 60 * 86_400_000, dryRun: true, now })
    expect(dry.horizon).toBe('2026-02-14')
    expect(dry.partitions.map((p) => [p.dt, p.files, p.rows])).toEqual([
      ['2026-01-01', 2, 4],
      ['2026-02-01', 1, 3],
    ])
    expect(await globRows()).toEqual({ rows: 11, ids: 11 })
    const real = await expireLake(lake, { olderThanMs: 60 * 86_400_000, now })
    expect(real.totals).toMatchObject({ partitions: 2, files: 3, rows: 7 })
    expect(await globRows()).toEqual({ rows: 4, ids: 4 })
    const records = await readCommitRecords(lake)
    expect(records.at(-1)).toMatchObject({ kind: 'expiry', files: [] })
    expect((await listCommittedFiles(lake)).map((f) => f.path.split('/')[1])).toEqual(['dt=2026-03-01'])
    expect(await readdir(path.join(dir, 'lake', REMOVED_DIR, real.commitId as string, 'purchases'))).toEqual([
      'dt=2026-01-01',
      'dt=2026-02-01',
    ])
  })
})
