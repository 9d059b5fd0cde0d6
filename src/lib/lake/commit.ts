import { randomBytes } from 'node:crypto'
import type { TableName } from '../events/catalog.js'
import {
  COMMITS_DIR,
  type CommitRecord,
  type CommittedFile,
  commitRecordPath,
  parseCommitRecord,
  parseCommitRecordName,
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
}

export interface PublishHooks {
  onStep?: (step: PublishStep) => void | Promise<void>
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

function stagedRecordPath(commitId: string): string {
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
  await runPool(input.files, 4, (f) =>
    lake.putFile(f.localPath, stagedPath(commitId, f.path), { overwrite: true }),
  )
  await hooks.onStep?.('after-staging')

  const record: CommitRecord = {
    formatVersion: 1,
    commitId,
    seq: input.seq,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    topic: input.topic,
    group: input.group,
    offsets: input.offsets,
    files: input.files.map(({ table, path, rows, bytes }) => ({ table, path, rows, bytes })),
  }
  await lake.writeFile(stagedRecordPath(commitId), `${JSON.stringify(record, null, 2)}\n`, {
    overwrite: true,
  })
  await lake.rename(stagedRecordPath(commitId), commitRecordPath(input.seq, commitId))
  await hooks.onStep?.('after-commit-record')

  await rollForward(lake, record)
  await hooks.onStep?.('after-publish')
  return record
}

/** Moves a committed record's staged files to their final paths and drops its staging dir. */
async function rollForward(lake: Lake, record: CommitRecord): Promise<void> {
  await runPool(record.files, 4, async (f) => {
    const from = stagedPath(record.commitId, f.path)
    if (await lake.stat(from)) await renameOnce(lake, from, f.path)
  })
  await lake.delete(stagingDir(record.commitId), true)
}

/** Every commit record in the lake, ordered by seq then creation time. Unreadable ones are skipped. */
export async function readCommitRecords(lake: Lake): Promise<CommitRecord[]> {
  const entries = await lake.list(COMMITS_DIR)
  const records: CommitRecord[] = []
  await runPool(
    entries.filter((e) => e.type === 'file' && parseCommitRecordName(e.name)),
    8,
    async (e) => {
      try {
        records.push(parseCommitRecord((await lake.readFile(e.path)).toString('utf8')))
      } catch {
        // A record that does not parse was never a commit: its rename is the commit point and
        // only complete files are renamed. Ignore it rather than fail every reader.
      }
    },
  )
  records.sort((a, b) => a.seq - b.seq || a.createdAt.localeCompare(b.createdAt))
  return records
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
  const records = await readCommitRecords(lake)
  const byId = new Map(records.map((r) => [r.commitId, r]))
  const now = options.now ?? Date.now()
  const staleMs = options.staleMs ?? 0
  const rolledForward: string[] = []
  const rolledBack: string[] = []
  for (const entry of await lake.list(STAGING_DIR)) {
    const id = entry.type === 'dir' ? entry.name : entry.name.replace(/\.json$/, '')
    const record = byId.get(id)
    if (record && entry.type === 'dir') {
      await rollForward(lake, record)
      rolledForward.push(id)
    } else if (!record && now - entry.mtime >= staleMs) {
      await lake.delete(entry.path, entry.type === 'dir')
      if (entry.type === 'dir') rolledBack.push(id)
    } else if (record) {
      await lake.delete(entry.path)
    }
  }
  return { records, rolledForward, rolledBack }
}

/**
 * The data files readers may use: those named by a commit record and present at their final
 * path (a commit whose roll-forward is pending shows up once recovery has run). Optionally one table.
 */
export async function listCommittedFiles(
  lake: Lake,
  table?: TableName,
  records?: CommitRecord[],
): Promise<CommittedFile[]> {
  const all = (records ?? (await readCommitRecords(lake))).flatMap((r) => r.files)
  const wanted = table ? all.filter((f) => f.table === table) : all
  const dirs = [...new Set(wanted.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))]
  const present = new Set<string>()
  await runPool(dirs, 8, async (dir) => {
    for (const e of await lake.list(dir)) if (e.type === 'file') present.add(e.path)
  })
  return wanted.filter((f) => present.has(f.path))
}
