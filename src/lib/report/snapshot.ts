import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { TABLE_NAMES, type TableName } from '../events/catalog.js'
import { readCommitRecords } from '../lake/commit.js'
import {
  type CommitRecord,
  type CommittedFile,
  dataFileCommitId,
  liveFiles,
  REMOVED_DIR,
  removedPath,
  stagedPath,
} from '../lake/layout.js'
import type { Lake, LakeEntry } from '../lake/types.js'

/**
 * A consistent view of the lake for reports: the files listed in the commit records (never staging
 * files; read with lake/commit.ts readCommitRecords: the newest checkpoint plus the records it does
 * not cover, so a long-running lake costs a bounded number of reads), readable by DuckDB on this
 * machine. file:// lakes are read in place; hdfs:// files are fetched once into a local cache
 * keyed by path, size and modification time.
 */

export interface SnapshotTable {
  name: TableName
  /** Local paths DuckDB reads, in commit order. */
  files: string[]
  /** Rows according to the commit records. */
  rows: number
}

export interface LakeSnapshot {
  tables: SnapshotTable[]
  /** Commits seen (records, plus those merged into the checkpoint read). */
  commits: number
  /** Files downloaded from the lake by this call (0 for file:// lakes and warm caches). */
  fetched: number
  /** Files served from the local cache. */
  cached: number
  /** Files named by a commit record but not (yet) at their final path: skipped. */
  missing: string[]
  /** Cached files the lake no longer commits (a purged or replaced lake), removed from the cache. */
  pruned: number
}

export type SnapshotProgress =
  | { phase: 'commits'; total: number }
  | { phase: 'fetch'; done: number; total: number; path: string }

export interface SnapshotOptions {
  lake: Lake
  /** Local cache directory for this lake (see lakeCacheDir). */
  cacheDir: string
  onProgress?: (event: SnapshotProgress) => void
  signal?: AbortSignal
  /** Parallel downloads from hdfs:// lakes. */
  concurrency?: number
}

interface CacheIndex {
  version: 1
  files: Record<string, { size: number; mtime: number }>
}

const INDEX_FILE = 'index.json'
/** A cached file the lake no longer commits is removed once it is this old (see snapshotLake). */
export const PRUNE_AFTER_MS = 10 * 60_000
const FILES_DIR = 'files'

/** The cache directory of one lake under the data dir: <dataDir>/cache/lake/<readable-name>-<hash>. */
export function lakeCacheDir(dataDir: string, lakeUrl: string): string {
  const readable = lakeUrl
    .replace(/^[a-z]+:\/+/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 60)
  const hash = createHash('sha256').update(lakeUrl).digest('hex').slice(0, 10)
  return path.join(dataDir, 'cache', 'lake', `${readable}-${hash}`)
}

/** A lake-relative data path is safe to use: under its table, no '..', a .parquet file. */
export function isSafeDataPath(table: string, p: string): boolean {
  if (!p.startsWith(`${table}/`) || !p.endsWith('.parquet')) return false
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..' && !part.startsWith('_'))
}

/**
 * Pure: groups the live files of commit records by table (added and not removed, first listing
 * wins, unknown tables and unsafe paths dropped).
 */
export function committedFilesByTable(records: CommitRecord[]): Map<TableName, CommittedFile[]> {
  const out = new Map<TableName, CommittedFile[]>(TABLE_NAMES.map((t) => [t, []]))
  for (const file of liveFiles(records)) {
    const list = out.get(file.table)
    if (!list || !isSafeDataPath(file.table, file.path)) continue
    list.push(file)
  }
  return out
}

/**
 * Where a committed file that is not at its final path is now: still staged (its commit's
 * roll-forward is pending) or moved to _game/removed/<commitId>/ by a compaction or expiry
 * committed after these records were read (kept there for the grace period).
 */
async function locateMoved(lake: Lake, paths: string[]): Promise<Map<string, LakeEntry>> {
  const out = new Map<string, LakeEntry>()
  if (paths.length === 0) return out
  const removers = (await lake.list(REMOVED_DIR)).filter((e) => e.type === 'dir').map((e) => e.name)
  for (const p of paths) {
    const cid = dataFileCommitId(p)
    const candidates = [
      ...removers.map((r) => removedPath(r, p)).reverse(),
      ...(cid ? [stagedPath(cid, p)] : []),
    ]
    for (const c of candidates) {
      const entry = await lake.stat(c)
      if (entry?.type === 'file') {
        out.set(p, entry)
        break
      }
    }
  }
  return out
}

/** Builds the snapshot: committed files per table, fetched into the cache for hdfs:// lakes. */
export async function snapshotLake(options: SnapshotOptions): Promise<LakeSnapshot> {
  const { lake, cacheDir, onProgress, signal } = options
  const records = await readCommitRecords(lake)
  const commits = records.reduce((n, r) => n + (r.merged ?? 1), 0)
  onProgress?.({ phase: 'commits', total: commits })
  const byTable = committedFilesByTable(records)

  // One listing per partition directory tells which committed files exist, with size and mtime.
  const dirs = new Set<string>()
  for (const files of byTable.values()) for (const f of files) dirs.add(path.posix.dirname(f.path))
  const present = new Map<string, LakeEntry>()
  for (const dir of dirs) {
    signal?.throwIfAborted()
    for (const entry of await lake.list(dir)) if (entry.type === 'file') present.set(entry.path, entry)
  }

  const notHere: string[] = []
  for (const files of byTable.values()) for (const f of files) if (!present.has(f.path)) notHere.push(f.path)
  for (const [p, entry] of await locateMoved(lake, notHere)) present.set(p, entry)

  const missing: string[] = []
  const wanted: { table: TableName; file: CommittedFile; entry: LakeEntry }[] = []
  for (const [table, files] of byTable) {
    for (const file of files) {
      const entry = present.get(file.path)
      if (entry) wanted.push({ table, file, entry })
      else missing.push(file.path)
    }
  }

  const local = new Map<string, string>()
  let fetched = 0
  let cached = 0
  let pruned = 0
  if (lake.kind === 'file') {
    for (const { file, entry } of wanted) local.set(file.path, lake.localPath(entry.path)!)
  } else {
    const index = await readIndex(cacheDir)
    const toFetch: { path: string; entry: LakeEntry; target: string }[] = []
    // The cache is keyed by the committed path; a moved file is fetched from where it is now.
    for (const { file, entry } of wanted) {
      const target = cachedPath(cacheDir, file.path)
      local.set(file.path, target)
      const known = index.files[file.path]
      if (
        known &&
        known.size === entry.size &&
        known.mtime === entry.mtime &&
        (await sizeOf(target)) === entry.size
      ) {
        cached++
      } else {
        toFetch.push({ path: file.path, entry, target })
      }
    }
    let done = 0
    const total = toFetch.length
    const worker = async () => {
      for (let item = toFetch.shift(); item; item = toFetch.shift()) {
        signal?.throwIfAborted()
        await mkdir(path.dirname(item.target), { recursive: true })
        const tmp = `${item.target}.${process.pid}.part`
        try {
          await lake.getFile(item.entry.path, tmp)
          await rename(tmp, item.target)
        } catch (error) {
          await rm(tmp, { force: true })
          throw error
        }
        index.files[item.path] = { size: item.entry.size, mtime: item.entry.mtime }
        fetched++
        done++
        onProgress?.({ phase: 'fetch', done, total, path: item.path })
      }
    }
    if (total > 0) {
      try {
        await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, total) }, worker))
      } finally {
        if (fetched > 0) await writeIndex(cacheDir, index)
      }
    }
    // What the lake no longer commits (files are only ever removed by a purge or a new lake at the
    // same URL) goes, so the cache holds at most the lake's committed files. Only files cached more
    // than PRUNE_AFTER_MS ago: a report that started later may have just fetched a newer commit's
    // file that this call's (older) list of records does not name.
    const committed = new Set<string>()
    for (const files of byTable.values()) for (const f of files) committed.add(f.path)
    const before = Date.now() - PRUNE_AFTER_MS
    let dropped = 0
    for (const p of Object.keys(index.files)) {
      if (committed.has(p)) continue
      if (!isSafeDataPath(p.slice(0, p.indexOf('/')), p)) {
        // Not a path this cache would have written: forget it, touch no file.
        delete index.files[p]
        dropped++
        continue
      }
      const target = cachedPath(cacheDir, p)
      const mtime = await stat(target).then(
        (st) => st.mtimeMs,
        () => undefined,
      )
      if (mtime !== undefined && mtime > before) continue
      delete index.files[p]
      await rm(target, { force: true })
      pruned++
    }
    if (pruned + dropped > 0) await writeIndex(cacheDir, index)
  }

  const tables: SnapshotTable[] = TABLE_NAMES.map((name) => {
    const files = wanted.filter((w) => w.table === name)
    return {
      name,
      files: files.map((w) => local.get(w.file.path)!),
      rows: files.reduce((sum, w) => sum + (Number(w.file.rows) || 0), 0),
    }
  })
  return { tables, commits, fetched, cached, missing, pruned }
}

/** Where the cache keeps a lake file (a path isSafeDataPath accepted). */
function cachedPath(cacheDir: string, lakePath: string): string {
  return path.join(cacheDir, FILES_DIR, ...lakePath.split('/'))
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size
  } catch {
    return undefined
  }
}

async function readIndex(cacheDir: string): Promise<CacheIndex> {
  try {
    const parsed = JSON.parse(await readFile(path.join(cacheDir, INDEX_FILE), 'utf8')) as CacheIndex
    if (parsed?.version === 1 && typeof parsed.files === 'object' && parsed.files) return parsed
  } catch {
    // no or unreadable index: start empty, files are fetched again
  }
  return { version: 1, files: {} }
}

async function writeIndex(cacheDir: string, index: CacheIndex): Promise<void> {
  await mkdir(cacheDir, { recursive: true })
  await writeFileAtomic(path.join(cacheDir, INDEX_FILE), JSON.stringify(index))
}

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, file)
}
