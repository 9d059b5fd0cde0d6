import { PARTITION_COLUMN, type TableName } from '../events/catalog.js'

/**
 * Where things live in the lake (paths relative to the lake root, e.g. hdfs://…:9870/tmp):
 *
 *   <table>/dt=YYYY-MM-DD/part-<commitId>-<n>.parquet   published data files (Hive partitions)
 *   _game/commits/<seq:020>-<commitId>.json               commit records, one per flush
 *   _game/checkpoints/<seq:020>-<id>.json                 checkpoints: merged commit records
 *   _game/staging/<commitId>/…                            files of a commit not yet published
 *   _game/removed/<commitId>/<original path>              files a compaction or expiry removed,
 *                                                         kept for a grace period, then deleted
 *   _game/locks/<table>-dt=YYYY-MM-DD.lock                compaction/expiry lease of one partition
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
 *
 * Checkpoints keep the commit metadata bounded (like Delta Lake's). The stream writes them
 * incrementally (commit.ts writeCheckpoint deltaUpTo): a delta merges only the records no read
 * checkpoint covers and covers only them, so the checkpoints it builds on stay live (nothing covers
 * them) and are merged with it by readers; every so often a full one covers them all.
 * The lake state (per topic and
 * partition the highest resume offset, the union of committed files) is a merge of commit records
 * that does not depend on order (max, set union), so any set of records and checkpoints merges to
 * the same state. A checkpoint is such a merge, written atomically (staged, then renamed), and
 * NAMES what it merged: `covers.commits` (record file names) and `covers.checkpoints` (checkpoint
 * file names), keeping only names still present when it was written, so the lists stay short.
 *   - readers list the commits dir, then the checkpoints dir; read checkpoints newest first,
 *     skipping any a read one covers; then read only the records no read checkpoint covers. If a
 *     listed file vanished before it was read (a writer deleted it after writing a newer
 *     checkpoint), they start over with fresh listings.
 *   - a writer builds a checkpoint from everything it read (so it covers the checkpoints and the
 *     records it read, and what those cover), then deletes only what the checkpoints it READ
 *     cover: one checkpoint of slack, and never a record that no checkpoint names. A record a
 *     second writer commits later with a lower seq is not named by any checkpoint, so it stays
 *     and is read until a later checkpoint names it.
 *
 * Record kinds (`kind`, absent = flush): a flush adds files and moves offsets; a compaction
 * removes N files of one partition and adds M (no offsets); an expiry removes whole partitions.
 * The lake's files are union(added) - union(removed) over all records, whatever their order
 * (a path carries its commit id, so a removed path is never added again); checkpoints keep the
 * removed paths whose adding commit they have not merged, and a checkpoint that merged a file's
 * adding commit without listing the file has seen it removed, so two checkpoints written side by
 * side still merge exactly. A record
 * that removes files is applied like a flush (staging dir = "not fully applied yet"): after
 * the commit point its added files are renamed to their final paths FIRST, then each removed
 * file is renamed to _game/removed/<commitId>/<path>, then the staging dir is deleted. Recovery
 * and checkpoint writers finish the same steps for any committed record whose staging dir is
 * still there. Files under _game/removed/ are deleted after a grace period (lake/upkeep.ts).
 *
 * Checkpoints list the merged commit ids only for commits made within ID_HORIZON_MS of the
 * newest merged one; older ones count as merged (`mergedBefore`), which holds because publish()
 * never commits a record more than MAX_COMMIT_AGE_MS after its id (its time) was made.
 *
 * Invariant: every committed record is in _game/commits or merged into a checkpoint present in
 * _game/checkpoints (a file is deleted only after a checkpoint containing it was written, and
 * that one is deleted only by a writer whose newer checkpoint read it).
 */

export const META_DIR = '_game'
export const COMMITS_DIR = `${META_DIR}/commits`
export const STAGING_DIR = `${META_DIR}/staging`
export const CHECKPOINTS_DIR = `${META_DIR}/checkpoints`
export const REMOVED_DIR = `${META_DIR}/removed`
export const LOCKS_DIR = `${META_DIR}/locks`

/** What a commit record does; absent on records written before compaction existed (= flush). */
export type CommitKind = 'flush' | 'compaction' | 'expiry'

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
  /** Absent = flush. */
  kind?: CommitKind
  /** Paths this commit removes from the lake (compaction inputs, expired files). */
  removed?: string[]
  /** The topic's id (Kafka Metadata v10+) when the stream knew it: a recreated topic has a new one. */
  topicId?: string
  /**
   * Only on the stand-in record a reader makes of a checkpoint (never written to commits/): how
   * many commit records it merges.
   */
  merged?: number
}

export interface Checkpoint {
  formatVersion: 1
  id: string
  /** The highest commit-record seq merged in (the file name sorts by it). */
  seq: number
  createdAt: string
  /**
   * The commit ids merged in (through earlier checkpoints too), in commit order: what makes
   * merging two checkpoints written side by side exact (~25 bytes a commit).
   */
  commitIds: string[]
  /** The latest createdAt of the merged commit records. */
  lastCommitAt: string
  /** Per topic, per partition, the next offset to consume (max over the merged records). */
  offsets: Record<string, Record<string, string>>
  /** Union of the merged records' files (by path) minus the removed ones, in commit order. */
  files: CommittedFile[]
  /** Removed paths whose adding commit is not merged here (absent when none). */
  removed?: string[]
  /** Per table, when a merged compaction last rewrote it (ISO time; absent when none). */
  lastCompaction?: Record<string, string>
  /**
   * Every commit whose id was made before this time (ms since epoch; commit ids start with their
   * creation time) is merged here, and its id is left out of commitIds (see ID_HORIZON_MS).
   */
  mergedBefore?: number
  /** How many merged commits' ids were left out that way. */
  mergedEarlier?: number
  /** What this checkpoint merged, by file name (only names present when it was written). */
  covers: { commits: string[]; checkpoints: string[] }
  /** Per topic, the topic id of the last merged record that had one (see CommitRecord.topicId). */
  topicIds?: Record<string, string>
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

/** Where a file removed by commit `commitId` stays during the grace period. */
export function removedPath(commitId: string, finalPath: string): string {
  return `${REMOVED_DIR}/${commitId}/${finalPath}`
}

/** The commit id in a data file name (part-<commitId>-<n>.parquet); undefined for other names. */
export function dataFileCommitId(p: string): string | undefined {
  return /(?:^|\/)part-([A-Za-z0-9]+-[0-9a-f]+)-\d+\.parquet$/.exec(p)?.[1]
}

/** When a commit id (newCommitId: base-36 ms, then randomness) was made; NaN for other ids. */
export function commitIdTime(commitId: string): number {
  const m = /^([0-9a-z]+)-/.exec(commitId)
  return m ? Number.parseInt(m[1], 36) : Number.NaN
}

/**
 * Pure: the lake's live files of a set of records: union of the added files (by path, first by
 * seq wins) minus the union of the removed paths. Order-independent as a set.
 */
export function liveFiles(
  records: readonly Pick<CommitRecord, 'seq' | 'files' | 'removed'>[],
): CommittedFile[] {
  const removed = new Set<string>()
  for (const r of records) for (const p of r.removed ?? []) removed.add(p)
  const seen = new Set<string>()
  const out: CommittedFile[] = []
  for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
    for (const f of r.files) {
      if (seen.has(f.path) || removed.has(f.path)) continue
      seen.add(f.path)
      out.push(f)
    }
  }
  return out
}

export function checkpointPath(seq: number, id: string): string {
  return `${CHECKPOINTS_DIR}/${String(seq).padStart(20, '0')}-${id}.json`
}

/** Parses `<seq>-<id>.json` of a checkpoint (same shape as a commit record's name). */
export function parseCheckpointName(name: string): { seq: number; id: string } | undefined {
  const r = parseCommitRecordName(name)
  return r ? { seq: r.seq, id: r.commitId } : undefined
}

/** Validates a parsed checkpoint; throws with the reason when it is not one. */
export function parseCheckpoint(text: string): Checkpoint {
  const c = JSON.parse(text) as Checkpoint
  if (
    c?.formatVersion !== 1 ||
    typeof c.id !== 'string' ||
    typeof c.seq !== 'number' ||
    !Array.isArray(c.files) ||
    !Array.isArray(c.commitIds) ||
    typeof c.offsets !== 'object' ||
    !Array.isArray(c.covers?.commits) ||
    !Array.isArray(c.covers?.checkpoints) ||
    (c.removed !== undefined && !Array.isArray(c.removed))
  ) {
    throw new Error('not a game checkpoint (formatVersion 1)')
  }
  return c
}

/**
 * Pure: merges checkpoints and commit records into one checkpoint body (max offsets, files
 * unioned by path and commit ids unioned: checkpoints' first, then records by seq; a record a
 * checkpoint already merged counts once). `covers` is left to the caller.
 */
type MergedState = Pick<
  Checkpoint,
  | 'seq'
  | 'commitIds'
  | 'lastCommitAt'
  | 'offsets'
  | 'files'
  | 'removed'
  | 'lastCompaction'
  | 'mergedBefore'
  | 'mergedEarlier'
  | 'topicIds'
>

/**
 * Checkpoints list the ids of the commits they merged only for commits made within this long
 * before the newest merged one; older ones are merged by definition (`mergedBefore`), which keeps
 * a checkpoint's size (and reading it) bounded by the recent commits instead of the lake's whole
 * history. It holds because publish() refuses to commit a record whose id is older than
 * MAX_COMMIT_AGE_MS (a quarter of this), so no unmerged record can be that old; writers' clocks
 * must agree within the difference.
 */
export const ID_HORIZON_MS = 2 * 86_400_000
export const MAX_COMMIT_AGE_MS = ID_HORIZON_MS / 4

/** True when checkpoint state `c` merged commit `id` (listed, or made before its horizon). */
export function hasMerged(c: Pick<Checkpoint, 'mergedBefore'> & { ids: Set<string> }, id: string): boolean {
  return c.ids.has(id) || (c.mergedBefore !== undefined && commitIdTime(id) < c.mergedBefore)
}

export function mergeState(
  checkpoints: MergedState[],
  records: CommitRecord[],
  options: { delta?: boolean } = {},
): MergedState {
  let seq = 0
  const ids = new Set<string>()
  const commitIds: string[] = []
  let before: number | undefined
  let earlier = 0
  for (const c of checkpoints) {
    if (c.mergedBefore !== undefined && (before === undefined || c.mergedBefore > before))
      before = c.mergedBefore
    earlier = Math.max(earlier, c.mergedEarlier ?? 0)
  }
  const addId = (id: string) => {
    if (ids.has(id) || (before !== undefined && commitIdTime(id) < before)) return false
    ids.add(id)
    commitIds.push(id)
    return true
  }
  let lastCommitAt = ''
  const offsets: Record<string, Record<string, string>> = {}
  const files: CommittedFile[] = []
  const seen = new Set<string>()
  const removed = new Set<string>()
  const compacted: Record<string, string> = {}
  const addCompaction = (table: string, at: string) => {
    if (!compacted[table] || at > compacted[table]) compacted[table] = at
  }
  const addOffsets = (topic: string, o: Record<string, string>) => {
    const t = (offsets[topic] ??= {})
    for (const [p, v] of Object.entries(o)) if (t[p] === undefined || BigInt(v) > BigInt(t[p])) t[p] = v
  }
  const addFiles = (fs: CommittedFile[]) => {
    for (const f of fs) {
      if (seen.has(f.path)) continue
      seen.add(f.path)
      files.push(f)
    }
  }
  // Offsets are merged per topic incarnation (see topicIncarnation): only the sources of the topic's
  // current id (the id of its highest-seq source that has one) count, so a topic deleted and created
  // again never resumes at the old topic's offsets once a checkpoint merged both.
  const sources: { seq: number; topic: string; id?: string; offsets: Record<string, string> }[] = []
  for (const c of checkpoints) {
    seq = Math.max(seq, c.seq)
    for (const id of c.commitIds) addId(id)
    if (c.lastCommitAt > lastCommitAt) lastCommitAt = c.lastCommitAt
    for (const [topic, o] of Object.entries(c.offsets))
      sources.push({ seq: c.seq, topic, id: c.topicIds?.[topic], offsets: o })
    addFiles(c.files)
    for (const p of c.removed ?? []) removed.add(p)
    for (const [t, at] of Object.entries(c.lastCompaction ?? {})) addCompaction(t, at)
  }
  for (const r of [...records].sort((a, b) => a.seq - b.seq || a.createdAt.localeCompare(b.createdAt))) {
    if (r.merged !== undefined) throw new Error('mergeState: a checkpoint stand-in is not a commit record')
    if (!addId(r.commitId)) continue
    seq = Math.max(seq, r.seq)
    if (r.createdAt > lastCommitAt) lastCommitAt = r.createdAt
    // Compaction and expiry records move no offsets (topic '').
    if (Object.keys(r.offsets).length > 0)
      sources.push({ seq: r.seq, topic: r.topic, id: r.topicId, offsets: r.offsets })
    addFiles(r.files)
    for (const p of r.removed ?? []) removed.add(p)
    if (r.kind === 'compaction') for (const f of r.files) addCompaction(f.table, r.createdAt)
  }
  const topicIds: Record<string, string> = {}
  sources.sort((a, b) => a.seq - b.seq)
  for (const topic of new Set(sources.map((x) => x.topic))) {
    const mine = sources.filter((x) => x.topic === topic)
    const withId = mine.filter((x) => x.id !== undefined)
    const current = withId.at(-1)?.id
    const first = withId[0]?.id
    if (current !== undefined) topicIds[topic] = current
    for (const x of mine)
      if (current === undefined || x.id === current || (x.id === undefined && first === current))
        addOffsets(topic, x.offsets)
  }
  if (checkpoints.length > 1) {
    // A checkpoint that merged a file's adding commit but does not list the file saw it removed
    // (its removal may have been pruned from its `removed`, below): gone in the merge too.
    const merged = checkpoints.map((c) => ({
      ids: new Set(c.commitIds),
      mergedBefore: c.mergedBefore,
      paths: new Set(c.files.map((f) => f.path)),
    }))
    for (const f of files) {
      const adder = dataFileCommitId(f.path)
      if (adder && merged.some((m) => hasMerged(m, adder) && !m.paths.has(f.path))) removed.add(f.path)
    }
  }
  // Ids older than the horizon leave the list (counted in mergedEarlier). Not in a delta: it did
  // not merge the commits before its records, so it must never claim them (mergedBefore).
  const horizon = lastCommitAt && !options.delta ? Date.parse(lastCommitAt) - ID_HORIZON_MS : Number.NaN
  if (!Number.isNaN(horizon) && (before === undefined || horizon > before)) before = horizon
  const kept =
    before === undefined ? commitIds : commitIds.filter((id) => !(commitIdTime(id) < (before as number)))
  earlier += commitIds.length - kept.length
  const out: MergedState = {
    seq,
    commitIds: kept,
    lastCommitAt,
    offsets,
    files: removed.size === 0 ? files : files.filter((f) => !removed.has(f.path)),
  }
  if (before !== undefined && (earlier > 0 || checkpoints.some((c) => c.mergedBefore !== undefined))) {
    out.mergedBefore = before
    out.mergedEarlier = earlier
  }
  // A removal needs keeping only while the commit that added the file is not merged here: a merged
  // commit's files are never added again (records) and checkpoints are checked as above. So the
  // checkpoint does not grow with every file ever compacted away.
  const self = { ids, mergedBefore: out.mergedBefore }
  const keep = [...removed].filter((p) => {
    const adder = dataFileCommitId(p)
    return !adder || !hasMerged(self, adder)
  })
  if (keep.length > 0) out.removed = keep.sort()
  if (Object.keys(compacted).length > 0) out.lastCompaction = compacted
  if (Object.keys(topicIds).length > 0) out.topicIds = topicIds
  return out
}

/**
 * The stand-in commit records of a checkpoint, for callers that work on records (resumeOffsets,
 * nextSeq, file lists): one per topic (the files on the first), seq = the checkpoint's seq.
 */
export function checkpointRecords(
  c: Pick<
    Checkpoint,
    | 'id'
    | 'seq'
    | 'createdAt'
    | 'commitIds'
    | 'lastCommitAt'
    | 'offsets'
    | 'files'
    | 'removed'
    | 'mergedEarlier'
    | 'topicIds'
  >,
): CommitRecord[] {
  const topics = Object.keys(c.offsets).sort()
  if (topics.length === 0) topics.push('')
  return topics.map((topic, i) => ({
    formatVersion: 1,
    commitId: `checkpoint-${c.id}${i === 0 ? '' : `-${i}`}`,
    seq: c.seq,
    createdAt: c.lastCommitAt || c.createdAt,
    topic,
    group: '',
    offsets: c.offsets[topic] ?? {},
    files: i === 0 ? c.files : [],
    ...(i === 0 && c.removed?.length ? { removed: c.removed } : {}),
    merged: i === 0 ? c.commitIds.length + (c.mergedEarlier ?? 0) : 0,
    ...(c.topicIds?.[topic] ? { topicId: c.topicIds[topic] } : {}),
  }))
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
    typeof r.offsets !== 'object' ||
    (r.removed !== undefined && !Array.isArray(r.removed))
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

// ---- Partition claims (fenced commits; the stream's flusher takes them, src/lib/lake/claims.ts) ----
/**
 * Claims fence the writers of one consumer group: a flush publishes a partition's range only if it
 * created that range's claim, an atomic create-if-absent on the lake (WebHDFS CREATE
 * overwrite=false; on a file lake a link(), which fails with EEXIST).
 *
 *   _game/claims/<topic>[~<topicId>]/<partition>/<base:020>-<attempt:04>   content: {commitId, claimedAt}
 *
 * `base` is the partition's resume offset in the lake that the flush builds on (the range it
 * publishes starts there; `init` when the lake has none). Every commit of a partition claims its
 * base, so the bases form a chain and two writers can never both publish from the same base: a
 * writer whose view of the lake is stale (an old owner still flushing after a rebalance, or a new
 * owner that read the lake before the old owner's commit) builds on a base already claimed, and
 * loses. Order inside publish(): stage the files and the record, claim every partition of the
 * flush (one create each: O(partitions)), then rename the record (the commit point). A flush
 * that loses a claim publishes nothing (its staging and the claims it won are deleted), rewinds
 * its partitions to the lake's offsets and reads them again; the next flush re-reads the commit
 * records and leaves out what the winner published.
 *   - A claim must reach its commit record within the lease (stream.claimLeaseMs); its writer checks
 *     the lease right before the rename, which follows the claim at once. A claim older than the
 *     lease whose base the lake still resumes at is an orphan (its writer died between claim and
 *     commit): a writer supersedes it by creating the next attempt of the same base.
 *   - Cleanup: a claim whose base is below the lake's resume offset is spent; spent claims older
 *     than the staging grace (a flush takes less, see recovery) are deleted at start and after each
 *     checkpoint. Younger ones stay: they fence writers whose view may still be that old.
 */
export const CLAIMS_DIR = `${META_DIR}/claims`

/** The claim base of a partition the lake has no offset for. */
export const INITIAL_BASE = 'init'

export function claimBase(resume: bigint | undefined): string {
  return resume === undefined ? INITIAL_BASE : resume.toString().padStart(20, '0')
}

/** The claims of one topic: `<topic>~<topicId>` when the id is known (a recreated topic starts a new chain). */
export function claimTopicDir(topic: string, topicId?: string): string {
  return `${CLAIMS_DIR}/${encodeURIComponent(topic)}${topicId ? `~${topicId}` : ''}`
}

export function claimDir(topic: string, partition: number, topicId?: string): string {
  return `${claimTopicDir(topic, topicId)}/${partition}`
}

export function claimPath(
  topic: string,
  partition: number,
  base: string,
  attempt: number,
  topicId?: string,
): string {
  return `${claimDir(topic, partition, topicId)}/${base}-${String(attempt).padStart(4, '0')}`
}

/** Parses `<base>-<attempt>` of a claim; undefined for anything else. */
export function parseClaimName(name: string): { base: string; offset?: bigint; attempt: number } | undefined {
  const m = /^(init|\d{20})-(\d{4})$/.exec(name)
  if (!m) return undefined
  return { base: m[1], offset: m[1] === INITIAL_BASE ? undefined : BigInt(m[1]), attempt: Number(m[2]) }
}
// ---- end of partition claims ----

// ---- Topic incarnations (topic ids in commit records) ----
/**
 * A topic deleted and created again under the same name is another topic: Kafka (Metadata v10+)
 * gives it a new id, and the stream writes the id into each commit record (and checkpoints keep
 * the last one per topic). The lake's current incarnation of a topic is the id of its highest-seq
 * record that has one; records of other ids are an earlier topic's, and their offsets mean nothing
 * for the new one. Records from before ids were written count for the first id the lake saw.
 */
export function topicIncarnation(
  records: CommitRecord[],
  topic: string,
  topicId: string | undefined,
): { records: CommitRecord[]; lakeTopicId?: string } {
  const mine = records.filter((r) => r.topic === topic)
  const withId = mine.filter((r) => r.topicId).sort((a, b) => a.seq - b.seq)
  const lakeTopicId = withId.at(-1)?.topicId
  if (topicId === undefined || lakeTopicId === undefined) return { records: mine, lakeTopicId }
  const first = withId[0].topicId
  return {
    records: mine.filter((r) => r.topicId === topicId || (r.topicId === undefined && first === topicId)),
    lakeTopicId,
  }
}
// ---- end of topic incarnations ----
