import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { Kafka } from 'kafkajs'
import { TABLE_NAMES, type TableName } from '../events/catalog.js'
import { listCommittedFiles, readCommitRecords } from '../lake/commit.js'
import { type CommitRecord, resumeOffsets, STAGING_DIR, topicIncarnation } from '../lake/layout.js'
import type { Lake } from '../lake/types.js'
import { readUnknownFields } from './unknown-fields.js'

export interface StreamStatusOptions {
  topic: string
  group: string
  brokers?: string[]
}

export interface PartitionStatus {
  partition: number
  /** Next offset according to the lake's commit records (what the stream resumes from). */
  lakeOffset: string | null
  /** The consumer group's committed offset (informational: the lake wins). */
  groupOffset: string | null
  /** The partition's end offset (high watermark). */
  endOffset: string | null
  /** endOffset − lakeOffset (or − the earliest offset when the lake has nothing). */
  lag: number | null
}

export interface TableStatus {
  table: TableName
  files: number
  rows: number
  bytes: number
  lastCommitAt: string | null
}

export interface StreamStatusResult {
  topic: string
  group: string
  lake: string
  partitions: PartitionStatus[]
  tables: TableStatus[]
  /**
   * Fields of no catalog type that events of this topic carried (kept in raw_event only; the
   * tables' schema does not grow): name → events, most seen first.
   */
  unknownFields?: Record<string, number>
  commits: number
  lastCommit: { commitId: string; seq: number; createdAt: string } | null
  /** Staging entries in the lake (a flush in progress, or leftovers the next start cleans). */
  staging: number
  /** Record batches the stream could not decode (their rows in `rejected`), and the latest reason. */
  undecodable?: { batches: number; lastReason: string | null }
  /** Set when Kafka could not be asked; the lake part is still there. */
  kafkaError?: string
}

/** Per-table totals from commit records and the files actually published. Pure. */
export function tableStatus(records: CommitRecord[], present: Set<string>): TableStatus[] {
  const out = new Map<TableName, TableStatus>(
    TABLE_NAMES.map((t) => [t, { table: t, files: 0, rows: 0, bytes: 0, lastCommitAt: null }]),
  )
  for (const r of records) {
    for (const f of r.files) {
      if (!present.has(f.path)) continue
      const s = out.get(f.table)
      if (!s) continue
      s.files += 1
      s.rows += f.rows
      s.bytes += f.bytes
      if (!s.lastCommitAt || r.createdAt > s.lastCommitAt) s.lastCommitAt = r.createdAt
    }
  }
  return [...out.values()]
}

/** Per partition: lake offset, group offset, end offset and lag. Pure. */
export function partitionStatus(
  lake: Map<number, bigint>,
  group: Map<number, bigint>,
  ends: Map<number, { low: bigint; high: bigint }>,
): PartitionStatus[] {
  const parts = new Set([...lake.keys(), ...group.keys(), ...ends.keys()])
  return [...parts]
    .sort((a, b) => a - b)
    .map((partition) => {
      const l = lake.get(partition)
      const g = group.get(partition)
      const e = ends.get(partition)
      const from = l ?? e?.low
      return {
        partition,
        lakeOffset: l?.toString() ?? null,
        groupOffset: g?.toString() ?? null,
        endOffset: e?.high.toString() ?? null,
        lag: e && from !== undefined ? Number(e.high > from ? e.high - from : 0n) : null,
      }
    })
}

/** What `game stream status` shows: offsets and lag per partition, files/rows/bytes per table. */
export async function streamStatus(
  options: StreamStatusOptions,
  deps: { kafka?: Kafka; lake: Lake },
): Promise<StreamStatusResult> {
  const { lake } = deps
  const records = await readCommitRecords(lake)
  const files = await listCommittedFiles(lake, undefined, records)
  const present = new Set(files.map((f) => f.path))
  const staging = (await lake.list(STAGING_DIR)).length
  const unknownFields = await readUnknownFields(lake, options.topic)
  const group = new Map<number, bigint>()
  const ends = new Map<number, { low: bigint; high: bigint }>()
  let kafkaError: string | undefined
  if (deps.kafka) {
    const admin = deps.kafka.admin()
    try {
      await admin.connect()
      const offsets = await admin.fetchTopicOffsets(options.topic)
      for (const o of offsets) ends.set(o.partition, { low: BigInt(o.low), high: BigInt(o.high) })
      const committed = await admin.fetchOffsets({ groupId: options.group, topics: [options.topic] })
      for (const t of committed) {
        for (const p of t.partitions) if (BigInt(p.offset) >= 0n) group.set(p.partition, BigInt(p.offset))
      }
    } catch (error) {
      kafkaError = `Kafka at ${(options.brokers ?? []).join(',')} did not answer: ${(error as Error).message}`
    } finally {
      await admin.disconnect().catch(() => undefined)
    }
  }
  const last = records.reduce<CommitRecord | undefined>(
    (a, r) => (!a || r.createdAt > a.createdAt ? r : a),
    undefined,
  )
  return {
    topic: options.topic,
    group: options.group,
    lake: lake.url,
    // The lake's current incarnation of the topic (its last topic id): after a topic was deleted and
    // created again, the old topic's offsets are not this one's.
    partitions: partitionStatus(
      resumeOffsets(
        topicIncarnation(
          records,
          options.topic,
          topicIncarnation(records, options.topic, undefined).lakeTopicId,
        ).records,
        options.topic,
      ),
      group,
      ends,
    ),
    tables: tableStatus(records, present),
    unknownFields,
    commits: records.reduce((n, r) => n + (r.merged ?? 1), 0),
    lastCommit: last ? { commitId: last.commitId, seq: last.seq, createdAt: last.createdAt } : null,
    staging,
    undecodable: await undecodableBatches(
      lake,
      files.filter((f) => f.table === 'rejected').map((f) => f.path),
    ),
    ...(kafkaError ? { kafkaError } : {}),
  }
}

/**
 * The undecodable batches the stream recorded in `rejected` (reason `undecodable record batch: ...`,
 * one row per batch): the table's files (rejects only, small) copied to a temp dir and counted with
 * DuckDB.
 */
async function undecodableBatches(
  lake: Lake,
  paths: string[],
): Promise<{ batches: number; lastReason: string | null }> {
  if (paths.length === 0) return { batches: 0, lastReason: null }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-stream-status-'))
  try {
    const local: string[] = []
    for (const [i, p] of paths.entries()) {
      const file = path.join(dir, `${i}.parquet`)
      await writeFile(file, await lake.readFile(p))
      local.push(file)
    }
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    try {
      const list = local.map((f) => `'${f.replaceAll("'", "''")}'`).join(',')
      const reader = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, max_by(reason, "timestamp") AS last FROM read_parquet([${list}], union_by_name = true) WHERE reason LIKE 'undecodable record batch%'`,
      )
      const row = reader.getRowObjectsJson()[0] as { n: number; last: string | null } | undefined
      return { batches: Number(row?.n ?? 0), lastReason: row?.last ?? null }
    } finally {
      conn.closeSync()
      db.closeSync()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
