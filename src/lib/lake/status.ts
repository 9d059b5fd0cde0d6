import { TABLE_NAMES, type TableName } from '../events/catalog.js'
import { listCommittedFiles, readLakeState, stateRecords } from './commit.js'
import type { CommitRecord, CommittedFile } from './layout.js'
import type { Lake } from './types.js'

/** A data file below this size counts as small (many of them make every report slow). */
export const SMALL_FILE_BYTES = 16 * 1024 * 1024

export interface TableStatus {
  table: TableName
  files: number
  bytes: number
  rows: number
  /** Files under SMALL_FILE_BYTES. */
  smallFiles: number
  /** Hive partitions (dt=…) with at least one file. */
  partitions: number
  oldestDt: string | null
  newestDt: string | null
  /** When a compaction last rewrote one of this table's partitions (null: never). */
  lastCompaction: string | null
}

export interface LakeStatusResult {
  lake: string
  /** Commit records merged in checkpoints plus those read on their own. */
  commits: number
  checkpoints: number
  lastCommitAt: string | null
  tables: TableStatus[]
  totals: { files: number; bytes: number; rows: number; smallFiles: number }
}

const DT = /\/dt=(\d{4}-\d{2}-\d{2})\//

/** Pure: the per-table summary of the committed files. Tables with no file are listed with zeros. */
export function summarizeTables(
  files: readonly CommittedFile[],
  records: readonly CommitRecord[] = [],
  /** Per table, the last compaction merged into the checkpoints read. */
  checkpointed: Record<string, string> = {},
): TableStatus[] {
  const lastCompaction = new Map<string, string>(Object.entries(checkpointed))
  for (const r of records) {
    if (r.kind !== 'compaction') continue
    for (const f of r.files) {
      const prev = lastCompaction.get(f.table)
      if (!prev || r.createdAt > prev) lastCompaction.set(f.table, r.createdAt)
    }
  }
  return TABLE_NAMES.map((table) => {
    const mine = files.filter((f) => f.table === table)
    const dts = [
      ...new Set(mine.map((f) => DT.exec(`/${f.path}`)?.[1]).filter((d): d is string => d !== undefined)),
    ].sort()
    return {
      table,
      files: mine.length,
      bytes: mine.reduce((a, f) => a + f.bytes, 0),
      rows: mine.reduce((a, f) => a + f.rows, 0),
      smallFiles: mine.filter((f) => f.bytes < SMALL_FILE_BYTES).length,
      partitions: dts.length,
      oldestDt: dts[0] ?? null,
      newestDt: dts.at(-1) ?? null,
      lastCompaction: lastCompaction.get(table) ?? null,
    }
  })
}

/** `game lake status`: files, bytes, rows, partitions and small files per table, from the commit log. */
export async function lakeStatus(lake: Lake): Promise<LakeStatusResult> {
  const state = await readLakeState(lake)
  const records = stateRecords(state)
  const files = await listCommittedFiles(lake, undefined, records)
  const checkpointed: Record<string, string> = {}
  for (const c of state.checkpoints)
    for (const [t, at] of Object.entries(c.lastCompaction ?? {}))
      if (!checkpointed[t] || at > checkpointed[t]) checkpointed[t] = at
  const tables = summarizeTables(files, records, checkpointed)
  const commits = records.reduce((a, r) => a + (r.merged ?? 1), 0)
  const lastCommitAt = records.reduce<string | null>(
    (a, r) => (a === null || r.createdAt > a ? r.createdAt : a),
    null,
  )
  return {
    lake: lake.url,
    commits,
    checkpoints: state.checkpoints.length,
    lastCommitAt,
    tables,
    totals: {
      files: tables.reduce((a, t) => a + t.files, 0),
      bytes: tables.reduce((a, t) => a + t.bytes, 0),
      rows: tables.reduce((a, t) => a + t.rows, 0),
      smallFiles: tables.reduce((a, t) => a + t.smallFiles, 0),
    },
  }
}
