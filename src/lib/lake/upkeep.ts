import { mkdtemp, rm, stat } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ExitCode, GameError } from '../errors.js'
import { TABLE_NAMES, type TableName } from '../events/catalog.js'
import { durationMs } from '../stream/units.js'
import {
  listCommittedFiles,
  newCommitId,
  nextSeq,
  type PublishStep,
  publish,
  readLakeState,
  recover,
  stateRecords,
} from './commit.js'
import { isLakeAlreadyExists, isLakeNotFound } from './file-lake.js'
import {
  type CommittedFile,
  commitIdTime,
  dataFilePath,
  LOCKS_DIR,
  REMOVED_DIR,
  STAGING_DIR,
} from './layout.js'
import { DEFAULT_ROW_GROUP_SIZE } from './parquet.js'
import type { Lake } from './types.js'

/**
 * The lake's upkeep: compaction (rewrite a partition's many small files into few large ones,
 * sorted by Host then timestamp) and expiry (drop whole dt partitions past a horizon). Both are
 * commits of lake/layout.ts (records that remove files), so readers that follow the commit log see
 * a partition before or after, never both; the removed files go to _game/removed/<commitId>/ at
 * once (invisible to directory-listing readers) and are deleted after a grace period.
 *
 * One compaction or expiry per partition at a time: a lease file _game/locks/<table>-dt=<dt>.lock
 * created exclusively (a second writer skips the partition; a lease older than leaseMs, left by a
 * killed process, is taken over). Flushes of a running stream need no lease: a compaction removes
 * only the files it read, and a flush only adds new ones.
 */

export const UPKEEP_DEFAULTS = {
  /** Output files near this size. */
  targetSizeBytes: 128 * 1024 * 1024,
  /** A partition is compacted when it holds at least this many small files. */
  minFiles: 10,
  /** Files removed by a compaction or expiry are deleted this long after its commit. */
  graceMs: 60 * 60_000,
  /** A partition lease older than this was left by a killed process and is taken over. */
  leaseMs: 30 * 60_000,
  /** Uncommitted staging older than this is rolled back by `lake compact` (as the stream does). */
  stagingGraceMs: 10 * 60_000,
} as const

const DT_RE = /^([a-z_]+)\/dt=(\d{4}-\d{2}-\d{2})\/[^/]+$/

/** The table and dt of a data path (table/dt=YYYY-MM-DD/file), undefined for anything else. */
export function partitionOf(p: string): { table: TableName; dt: string } | undefined {
  const m = DT_RE.exec(p)
  if (!m || !(TABLE_NAMES as readonly string[]).includes(m[1])) return undefined
  return { table: m[1] as TableName, dt: m[2] }
}

export interface PartitionFiles {
  table: TableName
  dt: string
  files: CommittedFile[]
}

/** Pure: the live files grouped by table and dt, sorted by table then dt. */
export function groupByPartition(files: readonly CommittedFile[]): PartitionFiles[] {
  const map = new Map<string, PartitionFiles>()
  for (const f of files) {
    const part = partitionOf(f.path)
    if (!part || part.table !== f.table) continue
    const key = `${part.table}/${part.dt}`
    let entry = map.get(key)
    if (!entry) map.set(key, (entry = { ...part, files: [] }))
    entry.files.push(f)
  }
  return [...map.values()].sort((a, b) => a.table.localeCompare(b.table) || a.dt.localeCompare(b.dt))
}

export interface CompactionCandidate {
  table: TableName
  dt: string
  /** The small files to rewrite (files already near the target size stay as they are). */
  files: CommittedFile[]
  bytes: number
  rows: number
  /** How many output files the rewrite is expected to make. */
  outputs: number
}

export interface PlanCompactionOptions {
  table?: TableName
  dt?: string
  targetSizeBytes?: number
  minFiles?: number
  /** Only partitions this predicate accepts (the stream's "closed or too many files" rule). */
  accept?: (p: PartitionFiles) => boolean
}

/**
 * Pure: which partitions to compact. A file is small under half the target size; a partition
 * qualifies with at least minFiles (min 2) small files.
 */
export function planCompaction(
  files: readonly CommittedFile[],
  options: PlanCompactionOptions = {},
): CompactionCandidate[] {
  const target = options.targetSizeBytes ?? UPKEEP_DEFAULTS.targetSizeBytes
  const minFiles = Math.max(2, options.minFiles ?? UPKEEP_DEFAULTS.minFiles)
  const out: CompactionCandidate[] = []
  for (const p of groupByPartition(files)) {
    if (options.table && p.table !== options.table) continue
    if (options.dt && p.dt !== options.dt) continue
    if (options.accept && !options.accept(p)) continue
    const small = p.files.filter((f) => f.bytes < target / 2)
    if (small.length < minFiles) continue
    const bytes = small.reduce((a, f) => a + f.bytes, 0)
    out.push({
      table: p.table,
      dt: p.dt,
      files: small,
      bytes,
      rows: small.reduce((a, f) => a + f.rows, 0),
      outputs: Math.max(1, Math.ceil(bytes / target)),
    })
  }
  return out
}

/** Pure: the dt partitions strictly older than the horizon (now - olderThanMs, as a UTC date). */
export function planExpiry(
  files: readonly CommittedFile[],
  olderThanMs: number,
  now: number,
): PartitionFiles[] {
  const horizon = new Date(now - olderThanMs).toISOString().slice(0, 10)
  return groupByPartition(files).filter((p) => p.dt < horizon)
}

/** Parses a duration such as 90d, 12h, 30m, 45s, 500ms (a bare number is days), in ms. */
export function parseDuration(text: string): number {
  const ms = durationMs(text, 'd')
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 90d, 12h, 30m)`)
  return ms
}

/** A --grace flag (a duration) as the lakeGraceMs config value; throws a usage error when it is not one. */
export function graceFlagMs(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  try {
    return String(Math.round(parseDuration(text)))
  } catch (error) {
    throw new GameError('USAGE', `Invalid --grace: ${(error as Error).message}`, {
      exitCode: ExitCode.usage,
      hint: 'Use a duration such as 1h, 30m or 0s.',
    })
  }
}

/** Parses a size such as 128MiB, 64MB, 1GiB, 1048576. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text)
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (use e.g. 128MiB, 64MB)`)
  const mult: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  }
  return Math.round(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()])
}

// ---------------------------------------------------------------------------------------------
// Partition leases

export interface PartitionLease {
  path: string
  owner: string
}

function leasePath(table: TableName, dt: string): string {
  return `${LOCKS_DIR}/${table}-dt=${dt}.lock`
}

/**
 * Takes the lease of one partition; undefined when a live holder has it. A lease older than
 * leaseMs is taken over (renamed away first, so only one of two racing takers wins).
 */
export async function acquireLease(
  lake: Lake,
  table: TableName,
  dt: string,
  options: { owner: string; leaseMs?: number; now?: number },
): Promise<PartitionLease | undefined> {
  const p = leasePath(table, dt)
  const body = JSON.stringify({
    owner: options.owner,
    pid: process.pid,
    host: hostname(),
    at: new Date().toISOString(),
  })
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await lake.writeFile(p, body)
      return { path: p, owner: options.owner }
    } catch (error) {
      if (!isLakeAlreadyExists(error)) throw error
    }
    const held = await lake.stat(p)
    if (!held) continue
    const age = (options.now ?? Date.now()) - held.mtime
    if (age < (options.leaseMs ?? UPKEEP_DEFAULTS.leaseMs) && !(await holderIsDead(lake, p))) return undefined
    try {
      await lake.rename(p, `${LOCKS_DIR}/stale-${options.owner}.lock`)
      await lake.delete(`${LOCKS_DIR}/stale-${options.owner}.lock`)
    } catch {
      // another taker renamed it first
    }
  }
  return undefined
}

/** A lease taken on this host by a process that no longer runs (killed): no need to wait for leaseMs. */
async function holderIsDead(lake: Lake, p: string): Promise<boolean> {
  let holder: { pid?: unknown; host?: unknown }
  try {
    holder = JSON.parse((await lake.readFile(p)).toString('utf8'))
  } catch {
    return false
  }
  if (holder.host !== hostname() || typeof holder.pid !== 'number' || holder.pid === process.pid) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** True while the lease file still names this owner. */
export async function holdsLease(lake: Lake, lease: PartitionLease): Promise<boolean> {
  try {
    const text = (await lake.readFile(lease.path)).toString('utf8')
    return (JSON.parse(text) as { owner?: string }).owner === lease.owner
  } catch (error) {
    if (isLakeNotFound(error) || error instanceof SyntaxError) return false
    if (!(await lake.stat(lease.path))) return false
    throw error
  }
}

export async function releaseLease(lake: Lake, lease: PartitionLease): Promise<void> {
  if (await holdsLease(lake, lease)) await lake.delete(lease.path)
}

function leaseLost(lease: PartitionLease): GameError {
  return new GameError(
    'LAKE_LEASE_LOST',
    `Lost the partition lease ${lease.path} (another process took it over as stale); nothing was committed`,
    {
      hint: 'Run the command again; raise the lease time if compactions of one partition take longer than it.',
      details: { lease: lease.path },
    },
  )
}

// ---------------------------------------------------------------------------------------------
// Grace-period deletion

export interface PurgeResult {
  /** _game/removed/<commitId> dirs deleted. */
  deleted: string[]
  /** Dirs still inside their grace period. */
  kept: number
}

/**
 * Deletes the files compactions and expiries removed more than graceMs ago (by the commit id's
 * time), once their commit is fully applied (no staging dir left).
 */
export async function purgeRemoved(
  lake: Lake,
  options: { graceMs?: number; now?: number } = {},
): Promise<PurgeResult> {
  const graceMs = options.graceMs ?? UPKEEP_DEFAULTS.graceMs
  const now = options.now ?? Date.now()
  const staged = new Set((await lake.list(STAGING_DIR)).map((e) => e.name))
  const deleted: string[] = []
  let kept = 0
  for (const e of await lake.list(REMOVED_DIR)) {
    if (e.type !== 'dir') continue
    const t = commitIdTime(e.name)
    if (staged.has(e.name) || Number.isNaN(t) || now - t < graceMs) {
      kept++
      continue
    }
    await lake.delete(e.path, true)
    deleted.push(e.path)
  }
  return { deleted, kept }
}

// ---------------------------------------------------------------------------------------------
// Compaction

export type UpkeepProgress =
  | { phase: 'plan'; partitions: number; files: number; bytes: number }
  | {
      phase: 'partition'
      index: number
      total: number
      table: TableName
      dt: string
      files: number
      bytes: number
    }
  | { phase: 'committed'; table: TableName; dt: string; commitId: string; removed: number; added: number }
  | { phase: 'skipped'; table: TableName; dt: string; reason: string }

export interface CompactOptions extends PlanCompactionOptions {
  dryRun?: boolean
  graceMs?: number
  leaseMs?: number
  /** Local scratch (default os.tmpdir()). */
  tempDir?: string
  /** DuckDB memory_limit for the rewrite (default 256MB; it spills to the scratch dir beyond). */
  memoryLimit?: string
  onProgress?: (event: UpkeepProgress) => void
  signal?: AbortSignal
  /** Test hook: runs after a partition's outputs are staged, before its commit point. */
  beforeCommit?: (candidate: CompactionCandidate) => Promise<void>
  /** Test hook: after each step of a partition's publish (e.g. to die like kill -9 there). */
  onPublishStep?: (step: PublishStep) => void | Promise<void>
}

export interface CompactedPartition {
  table: TableName
  dt: string
  /** Undefined in a dry run and for skipped partitions. */
  commitId?: string
  filesBefore: number
  filesAfter: number
  bytesBefore: number
  bytesAfter: number
  rows: number
  skipped?: string
}

export interface CompactResult {
  lake: string
  dryRun: boolean
  partitions: CompactedPartition[]
  totals: { filesBefore: number; filesAfter: number; bytesBefore: number; bytesAfter: number; rows: number }
  purged: string[]
}

function sql(s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

/** Pure: the COPY that rewrites a partition's files (schema = union of the inputs', sorted by Host then timestamp). */
export function compactionCopySql(inputs: string[], outDir: string, targetSizeBytes: number): string {
  return (
    `COPY (SELECT * FROM read_parquet([${inputs.map(sql).join(', ')}], union_by_name = true, hive_partitioning = false) ` +
    `ORDER BY "Host" NULLS LAST, "timestamp" NULLS LAST) TO ${sql(outDir)} ` +
    `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${DEFAULT_ROW_GROUP_SIZE}, FILE_SIZE_BYTES ${Math.max(1, Math.floor(targetSizeBytes))}, FILENAME_PATTERN 'out_{i}')`
  )
}

/**
 * `game lake compact`: rewrites each qualifying partition into files near the target size,
 * one commit per partition. Safe beside a running stream and across kill -9 (lake/layout.ts).
 */
export async function compactLake(lake: Lake, options: CompactOptions = {}): Promise<CompactResult> {
  const targetSizeBytes = options.targetSizeBytes ?? UPKEEP_DEFAULTS.targetSizeBytes
  const dryRun = options.dryRun ?? false
  const purged = dryRun ? [] : (await purgeRemoved(lake, { graceMs: options.graceMs })).deleted
  if (!dryRun) await recover(lake, { staleMs: UPKEEP_DEFAULTS.stagingGraceMs })
  const state = await readLakeState(lake)
  const records = stateRecords(state)
  const files = await listCommittedFiles(lake, undefined, records)
  const plan = planCompaction(files, { ...options, targetSizeBytes })
  options.onProgress?.({
    phase: 'plan',
    partitions: plan.length,
    files: plan.reduce((a, c) => a + c.files.length, 0),
    bytes: plan.reduce((a, c) => a + c.bytes, 0),
  })
  const partitions: CompactedPartition[] = []
  if (dryRun) {
    for (const c of plan)
      partitions.push({
        table: c.table,
        dt: c.dt,
        filesBefore: c.files.length,
        filesAfter: c.outputs,
        bytesBefore: c.bytes,
        bytesAfter: c.bytes,
        rows: c.rows,
      })
    return finish(lake, true, partitions, purged)
  }
  if (plan.length === 0) return finish(lake, false, partitions, purged)

  const scratch = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'game-compact-'))
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: options.memoryLimit ?? '256MB',
    threads: '1',
    temp_directory: path.join(scratch, 'spill'),
    preserve_insertion_order: 'true',
  })
  const conn = await instance.connect()
  let seq = nextSeq(records)
  try {
    for (const [i, c] of plan.entries()) {
      options.signal?.throwIfAborted()
      options.onProgress?.({
        phase: 'partition',
        index: i + 1,
        total: plan.length,
        table: c.table,
        dt: c.dt,
        files: c.files.length,
        bytes: c.bytes,
      })
      const lease = await acquireLease(lake, c.table, c.dt, {
        owner: newCommitId(),
        leaseMs: options.leaseMs,
      })
      if (!lease) {
        options.onProgress?.({
          phase: 'skipped',
          table: c.table,
          dt: c.dt,
          reason: 'another compaction holds it',
        })
        partitions.push(skipped(c, 'another compaction or expiry holds its lease'))
        continue
      }
      try {
        // Re-plan under the lease: a compaction or expiry that finished since our read removed files.
        const fresh = planCompaction(await listCommittedFiles(lake, c.table), {
          ...options,
          table: c.table,
          dt: c.dt,
          targetSizeBytes,
        })[0]
        if (!fresh) {
          partitions.push(skipped(c, 'compacted or expired meanwhile'))
          continue
        }
        const done = await compactPartition(lake, conn, fresh, {
          seq: seq++,
          targetSizeBytes,
          scratch: path.join(scratch, String(i)),
          beforeCommit: async () => {
            await options.beforeCommit?.(c)
            if (!(await holdsLease(lake, lease))) throw leaseLost(lease)
          },
          onPublishStep: options.onPublishStep,
        })
        partitions.push(done)
        options.onProgress?.({
          phase: 'committed',
          table: c.table,
          dt: c.dt,
          commitId: done.commitId as string,
          removed: done.filesBefore,
          added: done.filesAfter,
        })
      } finally {
        await releaseLease(lake, lease).catch(() => undefined)
      }
    }
  } finally {
    conn.closeSync()
    instance.closeSync()
    await rm(scratch, { recursive: true, force: true })
  }
  return finish(lake, false, partitions, purged)
}

function skipped(c: CompactionCandidate, reason: string): CompactedPartition {
  return {
    table: c.table,
    dt: c.dt,
    filesBefore: c.files.length,
    filesAfter: c.files.length,
    bytesBefore: c.bytes,
    bytesAfter: c.bytes,
    rows: c.rows,
    skipped: reason,
  }
}

function finish(
  lake: Lake,
  dryRun: boolean,
  partitions: CompactedPartition[],
  purged: string[],
): CompactResult {
  const sum = (k: 'filesBefore' | 'filesAfter' | 'bytesBefore' | 'bytesAfter' | 'rows') =>
    partitions.filter((p) => !p.skipped).reduce((a, p) => a + p[k], 0)
  return {
    lake: lake.url,
    dryRun,
    partitions,
    totals: {
      filesBefore: sum('filesBefore'),
      filesAfter: sum('filesAfter'),
      bytesBefore: sum('bytesBefore'),
      bytesAfter: sum('bytesAfter'),
      rows: sum('rows'),
    },
    purged,
  }
}

async function compactPartition(
  lake: Lake,
  conn: DuckDBConnection,
  c: CompactionCandidate,
  o: {
    seq: number
    targetSizeBytes: number
    scratch: string
    beforeCommit: () => Promise<void>
    onPublishStep?: (step: PublishStep) => void | Promise<void>
  },
): Promise<CompactedPartition> {
  const { mkdir, readdir } = await import('node:fs/promises')
  await mkdir(o.scratch, { recursive: true })
  const inputs: string[] = []
  for (const [n, f] of c.files.entries()) {
    const local = lake.localPath(f.path)
    if (local) inputs.push(local)
    else {
      const target = path.join(o.scratch, `in-${n}.parquet`)
      await lake.getFile(f.path, target)
      inputs.push(target)
    }
  }
  const outDir = path.join(o.scratch, 'out')
  await conn.run(compactionCopySql(inputs, outDir, o.targetSizeBytes))
  // The commit id (its time) is taken after the rewrite, however long that took (MAX_COMMIT_AGE_MS).
  const commitId = newCommitId()
  const outs = (await readdir(outDir))
    .filter((n) => n.endsWith('.parquet'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  const staged = []
  let rows = 0
  for (const [n, name] of outs.entries()) {
    const local = path.join(outDir, name)
    const meta = await conn.runAndReadAll(`SELECT num_rows FROM parquet_file_metadata(${sql(local)})`)
    const r = Number(meta.getRowObjectsJS()[0]?.num_rows ?? 0)
    rows += r
    staged.push({
      table: c.table,
      path: dataFilePath(c.table, c.dt, commitId, n),
      localPath: local,
      rows: r,
      bytes: (await stat(local)).size,
    })
  }
  if (rows !== c.rows) {
    throw new GameError(
      'LAKE_COMPACTION_MISMATCH',
      `Compacting ${c.table}/dt=${c.dt} wrote ${rows} rows but its ${c.files.length} files hold ${c.rows} by the commit records; nothing was committed`,
      {
        hint: 'Run `game lake status`; a committed file may be damaged.',
        details: { table: c.table, dt: c.dt, rows, expected: c.rows },
      },
    )
  }
  await publish(
    lake,
    {
      commitId,
      seq: o.seq,
      topic: '',
      group: '',
      offsets: {},
      files: staged,
      kind: 'compaction',
      removed: c.files.map((f) => f.path),
    },
    { onStep: o.onPublishStep, beforeCommit: o.beforeCommit },
  )
  await rm(o.scratch, { recursive: true, force: true })
  return {
    table: c.table,
    dt: c.dt,
    commitId,
    filesBefore: c.files.length,
    filesAfter: staged.length,
    bytesBefore: c.bytes,
    bytesAfter: staged.reduce((a, f) => a + f.bytes, 0),
    rows,
  }
}

// ---------------------------------------------------------------------------------------------
// Expiry

export interface ExpireOptions {
  olderThanMs: number
  dryRun?: boolean
  table?: TableName
  graceMs?: number
  leaseMs?: number
  now?: number
}

export interface ExpiredPartition {
  table: TableName
  dt: string
  files: number
  bytes: number
  rows: number
  skipped?: string
}

export interface ExpireResult {
  lake: string
  dryRun: boolean
  /** The first dt kept (partitions before it are expired). */
  horizon: string
  commitId?: string
  partitions: ExpiredPartition[]
  totals: { partitions: number; files: number; bytes: number; rows: number }
  purged: string[]
}

/** `game lake expire`: one expiry commit removing every whole dt partition older than the horizon. */
export async function expireLake(lake: Lake, options: ExpireOptions): Promise<ExpireResult> {
  const now = options.now ?? Date.now()
  const dryRun = options.dryRun ?? false
  const horizon = new Date(now - options.olderThanMs).toISOString().slice(0, 10)
  const purged = dryRun ? [] : (await purgeRemoved(lake, { graceMs: options.graceMs })).deleted
  const state = await readLakeState(lake)
  const records = stateRecords(state)
  const files = await listCommittedFiles(lake, undefined, records)
  const plan = planExpiry(files, options.olderThanMs, now).filter(
    (p) => !options.table || p.table === options.table,
  )
  const partitions: ExpiredPartition[] = plan.map((p) => ({
    table: p.table,
    dt: p.dt,
    files: p.files.length,
    bytes: p.files.reduce((a, f) => a + f.bytes, 0),
    rows: p.files.reduce((a, f) => a + f.rows, 0),
  }))
  const result = (commitId?: string): ExpireResult => {
    const live = partitions.filter((p) => !p.skipped)
    return {
      lake: lake.url,
      dryRun,
      horizon,
      ...(commitId ? { commitId } : {}),
      partitions,
      totals: {
        partitions: live.length,
        files: live.reduce((a, p) => a + p.files, 0),
        bytes: live.reduce((a, p) => a + p.bytes, 0),
        rows: live.reduce((a, p) => a + p.rows, 0),
      },
      purged,
    }
  }
  if (dryRun || plan.length === 0) return result()

  const commitId = newCommitId()
  const leases: PartitionLease[] = []
  const removed: string[] = []
  try {
    for (const [i, p] of plan.entries()) {
      const lease = await acquireLease(lake, p.table, p.dt, { owner: commitId, leaseMs: options.leaseMs })
      if (!lease) {
        partitions[i].skipped = 'a compaction holds its lease'
        continue
      }
      leases.push(lease)
    }
    if (leases.length === 0) return result()
    // Under the leases, the files as they are now (a compaction may have finished since our read).
    const leased = new Set(leases.map((l) => l.path))
    const now2 = groupByPartition(await listCommittedFiles(lake))
    for (const p of now2) {
      if (!leased.has(leasePath(p.table, p.dt))) continue
      for (const f of p.files) removed.push(f.path)
    }
    if (removed.length === 0) return result()
    // Files a compaction added after our read (before we took the lease) are picked up next time.
    await publish(
      lake,
      {
        commitId,
        seq: nextSeq(records),
        topic: '',
        group: '',
        offsets: {},
        files: [],
        kind: 'expiry',
        removed,
      },
      {
        beforeCommit: async () => {
          for (const l of leases) if (!(await holdsLease(lake, l))) throw leaseLost(l)
        },
      },
    )
  } finally {
    for (const l of leases) await releaseLease(lake, l).catch(() => undefined)
  }
  return result(commitId)
}
