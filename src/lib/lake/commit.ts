import { randomBytes } from 'node:crypto'
import { GameError } from '../errors.js'
import type { TableName } from '../events/catalog.js'
import {
  CHECKPOINTS_DIR,
  type Checkpoint,
  COMMITS_DIR,
  type CommitKind,
  type CommitRecord,
  type CommittedFile,
  checkpointPath,
  checkpointRecords,
  commitIdTime,
  commitRecordPath,
  hasMerged,
  liveFiles,
  MAX_COMMIT_AGE_MS,
  mergeState,
  parseCheckpoint,
  parseCheckpointName,
  parseCommitRecord,
  parseCommitRecordName,
  removedPath,
  STAGING_DIR,
  stagedPath,
  stagingDir,
} from './layout.js'
import type { Lake } from './types.js'

/**
 * The lake commit protocol of src/lib/lake/layout.ts: stage, commit record (the atomic commit
 * point), publish by rename, and recovery that rolls forward committed flushes and rolls back
 * the rest. The reports use readCommitRecords() and listCommittedFiles().
 */

/** Steps of publish(), in order; a hook may run (or crash the process) after each. */
export type PublishStep = 'after-staging' | 'after-commit-record' | 'after-publish'

export interface StagedFile {
  table: TableName
  /** Final path relative to the lake root (layout.dataFilePath). */
  path: string
  /** The local Parquet file to upload. */
  localPath: string
  rows: number
  bytes: number
}

export interface PublishInput {
  commitId: string
  seq: number
  topic: string
  group: string
  /** Per partition, the next offset to consume after this flush. */
  offsets: Record<string, string>
  files: StagedFile[]
  createdAt?: Date
  /** Absent = flush (the record then has no `kind`, as before). */
  kind?: CommitKind
  /** Lake paths this commit removes (moved to _game/removed/<commitId>/ after the commit point). */
  removed?: string[]
  /** The topic's id, when known (layout.ts, topic incarnations). */
  topicId?: string
}

export interface PublishHooks {
  onStep?: (step: PublishStep) => void | Promise<void>
  /**
   * Runs right before the commit point (the record's rename), after everything is staged: the
   * stream claims its partitions here (layout.ts, partition claims). Throwing aborts the publish
   * before the commit point (the staging is left for the caller or recovery to delete).
   */
  beforeCommit?: () => Promise<void>
}

/** A commit id unique across processes: time, then randomness. */
export function newCommitId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`
}

/** The next seq for a writer: one past the highest in the lake. */
export function nextSeq(records: Pick<CommitRecord, 'seq'>[]): number {
  let max = 0
  for (const r of records) if (r.seq > max) max = r.seq
  return max + 1
}

export function stagedRecordPath(commitId: string): string {
  return `${STAGING_DIR}/${commitId}.json`
}

/** Rename that tolerates a concurrent recovery having done it already. */
async function renameOnce(lake: Lake, from: string, to: string): Promise<void> {
  try {
    await lake.rename(from, to)
  } catch (error) {
    const [src, dst] = await Promise.all([lake.stat(from), lake.stat(to)])
    if (!src && dst) return
    throw error
  }
}

async function runPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * Publishes one flush: stages every file, writes the commit record and renames it into
 * _game/commits (the commit point), then renames the staged files to their final paths.
 */
export async function publish(
  lake: Lake,
  input: PublishInput,
  hooks: PublishHooks = {},
): Promise<CommitRecord> {
  const { commitId } = input
  const removes = (input.removed?.length ?? 0) > 0
  // The staging dir marks "committed but not fully applied" for recovery, even with no file to add.
  if (removes) await lake.mkdirs(stagingDir(commitId))
  await runPool(input.files, 4, (f) =>
    lake.putFile(f.localPath, stagedPath(commitId, f.path), { overwrite: true }),
  )
  await hooks.onStep?.('after-staging')
  // Checkpoints treat commits with ids older than their horizon as merged (layout.ts): never commit one.
  // Measured on the record's own clock (createdAt), the one checkpoints' horizons are taken on.
  const age = (input.createdAt ?? new Date()).getTime() - commitIdTime(commitId)
  if (age > MAX_COMMIT_AGE_MS) {
    throw new GameError(
      'LAKE_COMMIT_TOO_OLD',
      `Commit ${commitId} was started ${Math.round(age / 3_600_000)} h ago, longer than the ${MAX_COMMIT_AGE_MS / 3_600_000} h a commit may take; it is not published (its staging is rolled back)`,
      {
        hint: 'Check the clocks of the machines writing to this lake, and that no flush or compaction hangs for hours.',
        details: { commitId, ageMs: age },
      },
    )
  }

  const record: CommitRecord = {
    formatVersion: 1,
    commitId,
    seq: input.seq,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    topic: input.topic,
    group: input.group,
    offsets: input.offsets,
    files: input.files.map(({ table, path, rows, bytes }) => ({ table, path, rows, bytes })),
    ...(input.topicId ? { topicId: input.topicId } : {}),
  }
  if (input.kind && input.kind !== 'flush') record.kind = input.kind
  if (removes) record.removed = input.removed
  await lake.writeFile(stagedRecordPath(commitId), `${JSON.stringify(record, null, 2)}\n`, {
    overwrite: true,
  })
  await hooks.beforeCommit?.()
  await lake.rename(stagedRecordPath(commitId), commitRecordPath(input.seq, commitId))
  await hooks.onStep?.('after-commit-record')

  await rollForward(lake, record)
  await hooks.onStep?.('after-publish')
  return record
}

/**
 * Applies a committed record: moves its staged files to their final paths, THEN moves the files it
 * removes out of the table dirs (to _game/removed/<commitId>/…), then drops its staging dir (the
 * marker that it was not fully applied). Idempotent; safe beside another process doing the same.
 */
export async function rollForward(lake: Lake, record: CommitRecord): Promise<void> {
  await runPool(record.files, 4, async (f) => {
    const from = stagedPath(record.commitId, f.path)
    if (await lake.stat(from)) await renameOnce(lake, from, f.path)
  })
  if (record.removed?.length) {
    await runPool(record.removed, 16, async (p) => {
      if (await lake.stat(p)) await renameOnce(lake, p, removedPath(record.commitId, p))
    })
  }
  await lake.delete(stagingDir(record.commitId), true)
}

export interface LakeState {
  /** The checkpoints read, newest first (normally one; none before the first checkpoint). */
  checkpoints: Checkpoint[]
  /** The commit records no read checkpoint covers, by seq then creation time. */
  records: CommitRecord[]
  /** File names listed in _game/commits and _game/checkpoints (read or not). */
  listed: { commits: string[]; checkpoints: string[] }
  /** File names of the records and checkpoints above (what a checkpoint of this state covers). */
  read: { commits: string[]; checkpoints: string[] }
}

export interface ReadStateOptions {
  /** Fresh listings to try when a listed file vanishes before it is read (default 5). */
  attempts?: number
}

/** Reads one file; undefined when it vanished (a concurrent checkpoint writer deleted it). */
async function readIfPresent(lake: Lake, path: string): Promise<Buffer | undefined> {
  try {
    return await lake.readFile(path)
  } catch (error) {
    if (!(await lake.stat(path))) return undefined
    throw error
  }
}

/** A commit record or checkpoint that no longer parses: readers and the stream must stop. */
export function damagedMetadataError(path: string, cause: unknown): GameError {
  return new GameError(
    'LAKE_COMMIT_CORRUPT',
    `The lake's commit metadata ${path} is damaged (${cause instanceof Error ? cause.message : String(cause)}); reports and the stream stop rather than skip it`,
    {
      cause,
      hint: `Restore ${path} from a backup, or repair its JSON by hand (e.g. remove trailing bytes) so that it parses. Do not delete it: the offsets it records would be landed again. See docs/reports.md, "Damaged commit records".`,
      details: { path },
    },
  )
}

/**
 * The lake's commit metadata as few reads as possible: the newest checkpoint plus the commit
 * records it does not cover (layout.ts has the rules). Starts over when a listed file vanishes.
 */
export async function readLakeState(lake: Lake, options: ReadStateOptions = {}): Promise<LakeState> {
  const attempts = options.attempts ?? 5
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // Records first, checkpoints second: a record deleted in between is in a checkpoint listed after.
    const commitEntries = (await lake.list(COMMITS_DIR)).filter(
      (e) => e.type === 'file' && parseCommitRecordName(e.name),
    )
    const checkpointEntries = (await lake.list(CHECKPOINTS_DIR))
      .filter((e) => e.type === 'file' && parseCheckpointName(e.name))
      .sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
    const coveredCommits = new Set<string>()
    const coveredCheckpoints = new Set<string>()
    const checkpoints: Checkpoint[] = []
    const read = { commits: [] as string[], checkpoints: [] as string[] }
    let vanished = false
    for (const e of checkpointEntries) {
      if (coveredCheckpoints.has(e.name)) continue
      const data = await readIfPresent(lake, e.path)
      if (!data) {
        vanished = true
        break
      }
      let checkpoint: Checkpoint
      try {
        checkpoint = parseCheckpoint(data.toString('utf8'))
      } catch (error) {
        // Only complete files are renamed into checkpoints/: one that does not parse was damaged
        // afterwards. Skipping it would hide the commits it merged and let the stream land them again.
        throw damagedMetadataError(e.path, error)
      }
      checkpoints.push(checkpoint)
      read.checkpoints.push(e.name)
      for (const n of checkpoint.covers.commits) coveredCommits.add(n)
      for (const n of checkpoint.covers.checkpoints) coveredCheckpoints.add(n)
    }
    if (vanished) continue

    const records: CommitRecord[] = []
    await runPool(
      commitEntries.filter((e) => !coveredCommits.has(e.name)),
      8,
      async (e) => {
        const data = await readIfPresent(lake, e.path)
        if (!data) {
          vanished = true
          return
        }
        let record: CommitRecord
        try {
          record = parseCommitRecord(data.toString('utf8'))
        } catch (error) {
          // Only complete records are renamed into commits/, so one that does not parse was
          // damaged afterwards. Skipping it silently dropped its rows from reports and let the
          // next stream run land its offsets again: stop instead.
          throw damagedMetadataError(e.path, error)
        }
        records.push(record)
        read.commits.push(e.name)
      },
    )
    if (vanished) continue
    records.sort((a, b) => a.seq - b.seq || a.createdAt.localeCompare(b.createdAt))
    return {
      checkpoints,
      records,
      listed: {
        commits: commitEntries.map((e) => e.name),
        checkpoints: checkpointEntries.map((e) => e.name),
      },
      read,
    }
  }
  throw new Error(
    `the lake's commit metadata (${COMMITS_DIR}, ${CHECKPOINTS_DIR}) changed under ${attempts} readings in a row`,
  )
}

/** Records for callers that work on records: each read checkpoint's stand-ins, then the uncovered records. */
export function stateRecords(state: Pick<LakeState, 'checkpoints' | 'records'>): CommitRecord[] {
  const { checkpoints, records } = state
  if (checkpoints.length === 0) return records
  // Two checkpoints written side by side overlap (same base): merge them into one stand-in.
  const base =
    checkpoints.length === 1 ? checkpoints[0] : { ...checkpoints[0], ...mergeState(checkpoints, []) }
  const merged = { ids: new Set(base.commitIds), mergedBefore: base.mergedBefore }
  return [...checkpointRecords(base), ...records.filter((r) => !hasMerged(merged, r.commitId))].sort(
    (a, b) => a.seq - b.seq || a.createdAt.localeCompare(b.createdAt),
  )
}

/**
 * Every commit in the lake, ordered by seq then creation time: the commit records, where a
 * checkpoint stands in (checkpointRecords: one record per topic, `merged` > 0) for those it
 * merged. Unreadable records are skipped.
 */
export async function readCommitRecords(lake: Lake): Promise<CommitRecord[]> {
  return stateRecords(await readLakeState(lake))
}

export interface CheckpointOptions {
  now?: Date
  /** Delete what the checkpoints read cover (default true; false keeps everything, for tests). */
  prune?: boolean
  /** Test hook: runs after the checkpoint is written, before anything is deleted. */
  onWritten?: (checkpoint: Checkpoint) => void | Promise<void>
  /**
   * Incremental checkpoints: while fewer than this many checkpoints are live (read), write a delta
   * that merges only the records no checkpoint covers yet, instead of the whole state; at this many,
   * a full one that covers them all. Undefined (default): always full. The stream passes
   * DELTA_CHECKPOINTS.
   */
  deltaUpTo?: number
}

/** The stream's deltaUpTo: a full checkpoint at most every 8th time, so a reader reads <= 8. */
export const DELTA_CHECKPOINTS = 8

export interface CheckpointResult {
  /** The checkpoint written; undefined when there was nothing new to merge. */
  checkpoint?: Checkpoint
  /** Lake paths deleted (commit records and older checkpoints). */
  deleted: string[]
}

/**
 * Writes a checkpoint merging the current state (the newest checkpoint(s) and the records they do
 * not cover), then deletes what the checkpoints it read cover: one checkpoint of slack. Records
 * it merges whose files are still staged are rolled forward first, so recovery never needs them.
 */
export async function writeCheckpoint(
  lake: Lake,
  options: CheckpointOptions = {},
): Promise<CheckpointResult> {
  const state = await readLakeState(lake)
  if (state.records.length === 0 && state.checkpoints.length <= 1) return { deleted: [] }

  const staged = new Set((await lake.list(STAGING_DIR)).filter((e) => e.type === 'dir').map((e) => e.name))
  for (const r of state.records) if (staged.has(r.commitId)) await rollForward(lake, r)

  const now = options.now ?? new Date()
  const id = newCommitId(now.getTime())
  const listedCommits = new Set(state.listed.commits)
  const listedCheckpoints = new Set(state.listed.checkpoints)
  const commitNames = new Set(state.read.commits)
  const checkpointNames = new Set(state.read.checkpoints)
  for (const c of state.checkpoints) {
    for (const n of c.covers.commits) if (listedCommits.has(n)) commitNames.add(n)
    for (const n of c.covers.checkpoints) if (listedCheckpoints.has(n)) checkpointNames.add(n)
  }
  // A delta (layout.ts, incremental checkpoints) merges only the records no read checkpoint covers
  // and names only them: the checkpoints it builds on stay live (no one deletes an uncovered
  // checkpoint) and readers merge them with it, as they merge any set of checkpoints.
  const delta =
    options.deltaUpTo !== undefined &&
    state.records.length > 0 &&
    state.checkpoints.length < options.deltaUpTo
  const checkpoint: Checkpoint = delta
    ? {
        formatVersion: 1,
        id,
        createdAt: now.toISOString(),
        ...mergeState([], state.records, { delta: true }),
        covers: { commits: [...state.read.commits].sort(), checkpoints: [] },
      }
    : {
        formatVersion: 1,
        id,
        createdAt: now.toISOString(),
        ...mergeState(state.checkpoints, state.records),
        covers: { commits: [...commitNames].sort(), checkpoints: [...checkpointNames].sort() },
      }
  const staging = `${STAGING_DIR}/checkpoint-${id}.json`
  await lake.writeFile(staging, `${JSON.stringify(checkpoint)}\n`, { overwrite: true })
  await lake.rename(staging, checkpointPath(checkpoint.seq, id))
  await options.onWritten?.(checkpoint)

  const deleted: string[] = []
  if (options.prune !== false) {
    const doomed: string[] = []
    for (const c of state.checkpoints) {
      for (const n of c.covers.commits) if (listedCommits.has(n)) doomed.push(`${COMMITS_DIR}/${n}`)
      for (const n of c.covers.checkpoints)
        if (listedCheckpoints.has(n)) doomed.push(`${CHECKPOINTS_DIR}/${n}`)
    }
    await runPool([...new Set(doomed)], 8, async (p) => {
      if (await lake.delete(p)) deleted.push(p)
    })
  }
  return { checkpoint, deleted }
}

export interface RecoverOptions {
  /** Uncommitted staging older than this is deleted (younger may be a live writer's flush). Default 0. */
  staleMs?: number
  now?: number
}

export interface RecoverResult {
  records: CommitRecord[]
  /** Commit ids whose staged files were moved to their final paths. */
  rolledForward: string[]
  /** Commit ids whose uncommitted staging was deleted. */
  rolledBack: string[]
}

/**
 * Brings the lake to a consistent state: committed flushes are published (roll forward), stale
 * uncommitted staging is deleted (roll back). Safe to run while other writers are live when
 * staleMs exceeds a flush's duration.
 */
export async function recover(lake: Lake, options: RecoverOptions = {}): Promise<RecoverResult> {
  const state = await readLakeState(lake)
  const records = stateRecords(state)
  const byId = new Map<string, CommitRecord | undefined>(state.records.map((r) => [r.commitId, r]))
  // Merged into a checkpoint: rolled forward before that checkpoint was written, so staging left
  // under such an id is a leftover to delete, never a flush to roll back or forward.
  for (const c of state.checkpoints) for (const id of c.commitIds) if (!byId.has(id)) byId.set(id, undefined)
  // Commits made before a checkpoint's horizon are merged too (their ids are no longer listed).
  const horizons = state.checkpoints.map((c) => ({ ids: new Set<string>(), mergedBefore: c.mergedBefore }))
  const mergedLongAgo = (id: string) => !byId.has(id) && horizons.some((h) => hasMerged(h, id))
  const now = options.now ?? Date.now()
  const staleMs = options.staleMs ?? 0
  const rolledForward: string[] = []
  const rolledBack: string[] = []
  for (const entry of await lake.list(STAGING_DIR)) {
    const id = entry.type === 'dir' ? entry.name : entry.name.replace(/\.json$/, '')
    const committed = byId.has(id) || mergedLongAgo(id)
    const record = byId.get(id)
    if (record && entry.type === 'dir') {
      await rollForward(lake, record)
      rolledForward.push(id)
    } else if (!committed && now - entry.mtime >= staleMs) {
      await lake.delete(entry.path, entry.type === 'dir')
      if (entry.type === 'dir') rolledBack.push(id)
    } else if (committed) {
      await lake.delete(entry.path, entry.type === 'dir')
    }
  }
  return { records, rolledForward, rolledBack }
}

/**
 * The data files readers may use: those a commit record adds and none removes, present at their
 * final path (a commit whose roll-forward is pending shows up once recovery has run). Optionally one table.
 */
export async function listCommittedFiles(
  lake: Lake,
  table?: TableName,
  records?: CommitRecord[],
): Promise<CommittedFile[]> {
  const all = liveFiles(records ?? (await readCommitRecords(lake)))
  const wanted = table ? all.filter((f) => f.table === table) : all
  const dirs = [...new Set(wanted.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))]
  const present = new Set<string>()
  await runPool(dirs, 8, async (dir) => {
    for (const e of await lake.list(dir)) if (e.type === 'file') present.add(e.path)
  })
  return wanted.filter((f) => present.has(f.path))
}
