import { PARTITION_COLUMN, type TableName } from '../events/catalog.js'

/**
 * Where things live in the lake (paths relative to the lake root, e.g. hdfs://…:9870/tmp):
 *
 *   <table>/dt=YYYY-MM-DD/part-<commitId>-<n>.parquet   published data files (Hive partitions)
 *   _game/commits/<seq:020>-<commitId>.json               commit records, one per flush
 *   _game/staging/<commitId>/…                            files of a flush not yet published
 *
 * Names starting with '_' are ignored by Spark, Hive, DuckDB's hive partitioning and pyarrow, so
 * staging files and commit records never show up as table data.
 *
 * The commit protocol (implemented by src/lib/lake/commit.ts, used by the stream):
 *   1. write every table's files of a flush under _game/staging/<commitId>/<final path>
 *   2. write the commit record to _game/staging/<commitId>.json, then RENAME it to
 *      _game/commits/<seq>-<commitId>.json: that rename is the atomic commit point
 *   3. RENAME each staged file to its final path (roll-forward: recovery repeats this for any
 *      committed record whose files are still staged)
 *   4. commit the Kafka offsets to the consumer group
 * Recovery deletes staging directories that have no commit record (rolled back), finishes step 3
 * for those that have one, and resumes each partition after the highest offset any commit record
 * covers, whatever the consumer group says.
 */

export const META_DIR = '_game'
export const COMMITS_DIR = `${META_DIR}/commits`
export const STAGING_DIR = `${META_DIR}/staging`

export interface CommittedFile {
  table: TableName
  /** Final path relative to the lake root. */
  path: string
  rows: number
  bytes: number
}

export interface CommitRecord {
  formatVersion: 1
  commitId: string
  /** Monotonic per writer; the file name sorts by it. */
  seq: number
  createdAt: string
  topic: string
  group: string
  /** Per partition, the next offset to consume (last offset covered + 1), as decimal strings. */
  offsets: Record<string, string>
  files: CommittedFile[]
}

export function tableDir(table: TableName): string {
  return table
}

export function partitionDir(table: TableName, dt: string): string {
  return `${table}/${PARTITION_COLUMN}=${dt}`
}

export function dataFilePath(table: TableName, dt: string, commitId: string, n: number): string {
  return `${partitionDir(table, dt)}/part-${commitId}-${String(n).padStart(5, '0')}.parquet`
}

export function commitRecordPath(seq: number, commitId: string): string {
  return `${COMMITS_DIR}/${String(seq).padStart(20, '0')}-${commitId}.json`
}

export function stagingDir(commitId: string): string {
  return `${STAGING_DIR}/${commitId}`
}

export function stagedPath(commitId: string, finalPath: string): string {
  return `${stagingDir(commitId)}/${finalPath}`
}

/** Parses `<seq>-<commitId>.json`; undefined for anything else. */
export function parseCommitRecordName(name: string): { seq: number; commitId: string } | undefined {
  const m = /^(\d{20})-([A-Za-z0-9_-]+)\.json$/.exec(name)
  return m ? { seq: Number(m[1]), commitId: m[2] } : undefined
}

/** Validates a parsed commit record; throws with the reason when it is not one. */
export function parseCommitRecord(text: string): CommitRecord {
  const r = JSON.parse(text) as CommitRecord
  if (
    r?.formatVersion !== 1 ||
    typeof r.commitId !== 'string' ||
    !Array.isArray(r.files) ||
    typeof r.offsets !== 'object'
  ) {
    throw new Error('not a game commit record (formatVersion 1)')
  }
  return r
}

/** Per partition, the next offset to consume according to a set of commit records (the max over them). */
export function resumeOffsets(records: CommitRecord[], topic: string): Map<number, bigint> {
  const out = new Map<number, bigint>()
  for (const r of records) {
    if (r.topic !== topic) continue
    for (const [p, o] of Object.entries(r.offsets)) {
      const partition = Number(p)
      const next = BigInt(o)
      const prev = out.get(partition)
      if (prev === undefined || next > prev) out.set(partition, next)
    }
  }
  return out
}
