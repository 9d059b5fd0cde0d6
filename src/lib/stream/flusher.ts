import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { derivedTables, TABLE_NAMES, type TableName } from '../events/catalog.js'
import { claimRange, cleanClaims, releaseClaim } from '../lake/claims.js'
import {
  DELTA_CHECKPOINTS,
  newCommitId,
  type PublishStep,
  publish,
  readCommitRecords,
  type StagedFile,
  stagedRecordPath,
  writeCheckpoint,
} from '../lake/commit.js'
import { type CommitRecord, dataFilePath, resumeOffsets, stagingDir } from '../lake/layout.js'
import type { ParquetWriter, WrittenFile } from '../lake/parquet.js'
import type { Lake } from '../lake/types.js'
import type { RowBuffer } from './buffer.js'
import type { OffsetTracker } from './offsets.js'
import { type FlushLimits, type FlushReason, flushReason } from './triggers.js'

/** Tables the flush writes from other tables' files (transactions = purchases + add_money). */
const DERIVED = derivedTables()

export const REBALANCE_STOP_WARNING =
  'Stopped during a consumer-group rebalance: the last buffered events were left for the next owner'

/** Where a crash can be injected (tests): each step of publish(), and between publish and the Kafka offset commit. */
export type CrashPoint = PublishStep | 'before-offset-commit'

export interface FlushInfo {
  commitId: string
  at: string
  reason: FlushReason
  rows: number
  files: number
  bytes: number
  durationMs: number
  /** Of durationMs: writing Parquet locally, and publishing (upload, commit record, renames). */
  writeMs: number
  publishMs: number
}

export interface FlusherContext {
  topic: string
  /** The topic's id, written into each commit record (layout.ts, topic incarnations). */
  topicId?: string
  /** Per partition, the lake's resume offset for this topic (id) from a set of commit records. */
  lakeOffsets?: (records: CommitRecord[]) => Map<number, bigint>
  group: string
  lake: Lake
  now(): number
  /** Local scratch directory of this run (one subdirectory per flush). */
  scratch: string
  buffer: RowBuffer
  tracker: OffsetTracker
  /** The Parquet writer (DuckDB starts while the group is joined; the first flush waits for it). */
  parquet: Promise<ParquetWriter>
  /** Commits the lake's offsets to the consumer group, after the lake commit. */
  commitOffsets(offsets: Record<string, string>): Promise<void>
  limits: FlushLimits
  /** The commit record seq of this writer's next flush. */
  seq: number
  /** Write a lake checkpoint every this many flushes (0: never); `sinceCheckpoint` records count already. */
  checkpointEvery: number
  sinceCheckpoint: number
  claimLeaseMs: number
  /** Spent claims older than this are deleted after a checkpoint. */
  stagingGraceMs: number
  /** A rebalance is under way: nothing may be published (the partitions are moving). */
  rebalancing(): boolean
  /** The job already failed: nothing more is published. */
  failed(): boolean
  /** A flush failed: the job stops (its rows are not in the lake). */
  onFailure(error: unknown): void
  warn(message: string): void
  /** Test hook, called after each publish step and before the offset commit of flushes with files. */
  crashHook(point: CrashPoint): void
  /** After a flush's lake commit (the unknown-field counts are saved here); failures are warnings. */
  afterCommit?(): Promise<void>
  /** After a flush is done, checkpoint included (the background compactor looks for work here). */
  afterFlush?(): void
  /**
   * Claims were lost: these partitions were reset to the lake's offsets (tracker) and must be read
   * again from there (the job moves their fetch positions and drops their buffered rows).
   */
  rewind(partitions: number[]): void
}

class ClaimLost extends Error {
  constructor(readonly partitions: number[]) {
    super(`claims lost for partitions ${partitions.join(', ')}`)
  }
}

/**
 * The flusher/publisher: owns the flush protocol and the order of commits.
 *   - one flush at a time publishes, in the order they were cut (a flush waits for the one before);
 *   - the writing/written handshake: a flush is `writing` from its cut until its Parquet files are
 *     written; a stop waits for `written`, then the final flush writes while the previous publishes
 *     (`overlap`), and publishes only after it, and not at all if it failed, lost a claim or a
 *     rebalance began;
 *   - a partition's first flush after an assignment re-reads the commit records and leaves out rows
 *     another writer published meanwhile (`verify`);
 *   - before its commit point a flush claims each partition's range (layout.ts, partition claims);
 *     a lost claim publishes nothing and rewinds the flush's partitions to the lake's offsets;
 *   - after the lake commit: the Kafka offset commit (informational), then a checkpoint every K.
 */
export class Flusher {
  readonly published: Record<TableName, number> = Object.fromEntries(
    TABLE_NAMES.map((t) => [t, 0]),
  ) as Record<TableName, number>
  readonly commits: string[] = []
  flushes = 0
  lastFlush: FlushInfo | undefined
  lastFlushAt: number
  /** The chain of flushes: the last one started (undefined when none runs). */
  inFlight: Promise<void> | undefined
  /** A flush is writing its Parquet files (DuckDB busy); false once it publishes. */
  writing = false
  /** Resolves when the flush that is writing is done writing. */
  written: Promise<void> = Promise.resolve()
  /** Flushes that lost a claim so far: an overlapped flush publishes nothing after one. */
  private losses = 0
  private markWritten = () => {}
  /**
   * Partitions whose first flush since assignment must check the lake again: what the lake said
   * at assignment, so rows another writer published meanwhile (a flush of the previous owner
   * still running when the group rebalanced) are left out instead of written twice.
   */
  private readonly unverified = new Map<number, bigint | undefined>()

  constructor(private readonly ctx: FlusherContext) {
    this.lastFlushAt = ctx.now()
  }

  private lakeOffsets(records: CommitRecord[]): Map<number, bigint> {
    return this.ctx.lakeOffsets?.(records) ?? resumeOffsets(records, this.ctx.topic)
  }

  /** A partition was assigned with this lake offset: its first flush checks the lake again. */
  verify(partition: number, atAssignment: bigint | undefined): void {
    this.unverified.set(partition, atAssignment)
  }

  /** Some partition's first flush is still to check the lake. */
  get verifying(): boolean {
    return this.unverified.size > 0
  }

  /** Why a flush is due now, if it is. */
  dueReason(): FlushReason | undefined {
    const { buffer, tracker } = this.ctx
    return flushReason(
      {
        rows: buffer.rows,
        bytes: buffer.bytes,
        pendingOffsets: Object.keys(tracker.pending()).length > 0,
        lastFlushAt: this.lastFlushAt,
      },
      this.ctx.limits,
      this.ctx.now(),
    )
  }

  /**
   * Starts a flush after any in-flight one (or, with `overlap`, while it publishes: see doFlush); a
   * failed flush stops the stream (its rows are not in the lake).
   */
  flush(reason: FlushReason, overlap = false): Promise<void> {
    const { ctx } = this
    const prev = this.inFlight ?? Promise.resolve()
    const run = overlap
      ? this.doFlush(reason, prev)
      : prev.then(() => (ctx.failed() || ctx.rebalancing() ? undefined : this.doFlush(reason)))
    const tracked = run.catch((error) => ctx.onFailure(error))
    this.inFlight = tracked
    void tracked.finally(() => {
      if (this.inFlight === tracked) this.inFlight = undefined
    })
    return tracked
  }

  private setWriting(on: boolean): void {
    if (on && !this.writing) this.written = new Promise((resolve) => (this.markWritten = resolve))
    if (!on && this.writing) this.markWritten()
    this.writing = on
  }

  /** Offsets other writers published, since assignment, for partitions not yet checked. */
  private async lateCommits(): Promise<Map<number, bigint>> {
    const { ctx, unverified } = this
    const skip = new Map<number, bigint>()
    if (unverified.size === 0) return skip
    const checking = [...unverified]
    const fresh = this.lakeOffsets(await readCommitRecords(ctx.lake))
    for (const [p, atJoin] of checking) {
      const now = fresh.get(p)
      if (now !== undefined && (atJoin === undefined || now > atJoin)) {
        skip.set(p, now)
        ctx.tracker.setCommitted(p, now)
        ctx.warn(`Partition ${p}: rows below offset ${now} were published by another writer; left out`)
      }
      if (unverified.get(p) === atJoin) unverified.delete(p)
    }
    return skip
  }

  /**
   * Claims every partition of a flush (right before its commit point). All won: returns. One lost
   * (or the lease ran out meanwhile): releases the ones won and throws ClaimLost.
   */
  private async claim(commitId: string, offsets: Record<string, string>): Promise<void> {
    const { ctx } = this
    const started = ctx.now()
    const parts = Object.keys(offsets).map(Number)
    let fresh: Promise<Map<number, bigint>> | undefined
    const lakeResume = async (p: number) => {
      fresh ??= readCommitRecords(ctx.lake).then((r) => this.lakeOffsets(r))
      return (await fresh).get(p)
    }
    const won: string[] = []
    const lost: number[] = []
    try {
      const results = await Promise.all(
        parts.map((partition) =>
          claimRange(
            ctx.lake,
            {
              topic: ctx.topic,
              topicId: ctx.topicId,
              partition,
              base: ctx.tracker.committedOffset(partition),
              commitId,
            },
            { leaseMs: ctx.claimLeaseMs, now: ctx.now, lakeResume },
          ),
        ),
      )
      for (const [i, r] of results.entries()) {
        if (r === undefined) lost.push(parts[i])
        else won.push(r)
      }
    } catch (error) {
      await Promise.all(won.map((w) => releaseClaim(ctx.lake, w)))
      throw error
    }
    // The rename follows at once; a claim must reach it well within its lease (else it may be superseded).
    if (lost.length === 0 && ctx.now() - started < ctx.claimLeaseMs / 2) return
    await Promise.all(won.map((w) => releaseClaim(ctx.lake, w)))
    throw new ClaimLost(lost.length > 0 ? lost : parts)
  }

  /** A lost claim: nothing of this flush is published; its partitions are read again from the lake's offsets. */
  private async lostClaims(commitId: string, offsets: Record<string, string>, lost: number[]): Promise<void> {
    const { ctx } = this
    this.losses += 1
    await ctx.lake.delete(stagingDir(commitId), true).catch(() => false)
    await ctx.lake.delete(stagedRecordPath(commitId)).catch(() => false)
    const parts = Object.keys(offsets).map(Number)
    for (const p of parts) {
      ctx.tracker.reset(p)
      this.unverified.set(p, ctx.tracker.committedOffset(p))
    }
    ctx.rewind(parts)
    ctx.warn(
      `Partition${lost.length === 1 ? '' : 's'} ${lost.join(', ')}: another writer claimed the range first; this flush published nothing and reads partition${parts.length === 1 ? '' : 's'} ${parts.join(', ')} again from the lake's offsets`,
    )
  }

  /**
   * One flush: cut, write the Parquet files locally, publish, commit. `after` (the previous flush,
   * still publishing) overlaps this one's writing; this one publishes only once it is done, and
   * not at all if it failed, lost a claim or a rebalance began.
   */
  private async doFlush(reason: FlushReason, after?: Promise<void>): Promise<void> {
    const { ctx } = this
    const { buffer, tracker } = ctx
    // The cut point: the generation of rows and the offsets they cover, taken together, synchronously.
    const gen = buffer.cut()
    const offsets = tracker.pending()
    const losses = this.losses
    this.lastFlushAt = ctx.now()
    if (gen.rows === 0 && Object.keys(offsets).length === 0) {
      await buffer.discard(gen)
      return
    }
    const t0 = ctx.now()
    const commitId = newCommitId(t0)
    const dir = path.join(ctx.scratch, commitId)
    // Writing from the cut on (no await in between): a stop sees it and waits for the writes.
    this.setWriting(true)
    try {
      await mkdir(dir, { recursive: true })
      const w = await ctx.parquet
      const batches = await buffer.finish(gen)
      const skip = await this.lateCommits()
      const files: StagedFile[] = []
      const perTable = new Map<TableName, number>()
      const stage = (table: TableName, dt: string, localPath: string, written: WrittenFile) => {
        if (written.rows === 0) return
        const n = perTable.get(table) ?? 0
        perTable.set(table, n + 1)
        files.push({ table, path: dataFilePath(table, dt, commitId, n), localPath, ...written })
      }
      const sourceFiles: { table: TableName; dt: string; localPath: string; written: WrittenFile }[] = []
      for (const [i, b] of batches.entries()) {
        const localPath = path.join(dir, `${b.table}-${b.dt}-${i}.parquet`)
        const written = await w.writeFiles(b.table, { json: b.files, csv: b.csvFiles }, localPath, skip)
        stage(b.table, b.dt, localPath, written)
        sourceFiles.push({ table: b.table, dt: b.dt, localPath, written })
      }
      // Derived tables (transactions = purchases + add_money): their sources' Parquet files, as
      // they are. The columns are the same (catalog derivedTables), so each source file is also a
      // file of the derived table, byte for byte: the rows are routed and encoded once.
      for (const [table, sources] of DERIVED) {
        for (const f of sourceFiles) if (sources.includes(f.table)) stage(table, f.dt, f.localPath, f.written)
      }
      this.setWriting(false)
      const tWritten = ctx.now()
      if (after) {
        await after
        if (ctx.failed() || ctx.rebalancing()) {
          if (ctx.rebalancing()) ctx.warn(REBALANCE_STOP_WARNING)
          return
        }
        if (this.losses !== losses) {
          // The flush before lost a claim and rewound: this one's rows follow a gap.
          ctx.warn('A flush lost a claim while stopping: the last buffered events were left for the next run')
          return
        }
      }
      // Offsets the lake already has (published by the flush before, or by another writer): not news.
      for (const [p, o] of Object.entries(offsets)) {
        const done = tracker.committedOffset(Number(p))
        if (done !== undefined && done >= BigInt(o)) delete offsets[p]
      }
      if (files.length === 0 && Object.keys(offsets).length === 0) return
      const tPublish = ctx.now()
      const thisSeq = ctx.seq++
      const arm = files.length > 0
      try {
        await publish(
          ctx.lake,
          {
            commitId,
            seq: thisSeq,
            topic: ctx.topic,
            group: ctx.group,
            offsets,
            files,
            topicId: ctx.topicId,
          },
          {
            onStep: (step) => (arm ? ctx.crashHook(step) : undefined),
            beforeCommit: () => this.claim(commitId, offsets),
          },
        )
      } catch (error) {
        if (!(error instanceof ClaimLost)) throw error
        await this.lostClaims(commitId, offsets, error.partitions)
        return
      }
      tracker.markCommitted(offsets)
      await ctx.afterCommit?.()
      for (const f of files) this.published[f.table] += f.rows
      this.commits.push(commitId)
      this.flushes += 1
      this.lastFlush = {
        commitId,
        at: new Date(ctx.now()).toISOString(),
        reason,
        rows: files.reduce((s, f) => s + f.rows, 0),
        files: files.length,
        bytes: files.reduce((s, f) => s + f.bytes, 0),
        durationMs: ctx.now() - t0,
        writeMs: tWritten - t0,
        publishMs: ctx.now() - tPublish,
      }
      if (arm) ctx.crashHook('before-offset-commit')
      try {
        await ctx.commitOffsets(offsets)
      } catch (error) {
        // The lake is the source of truth; a restart resumes from the commit record anyway.
        ctx.warn(`Kafka offset commit failed (the lake has the offsets): ${(error as Error).message}`)
      }
      if (ctx.checkpointEvery > 0 && ++ctx.sinceCheckpoint >= ctx.checkpointEvery) {
        ctx.sinceCheckpoint = 0
        // Bounds what every reader reads; if it fails, readers only read more commit records.
        await writeCheckpoint(ctx.lake, { deltaUpTo: DELTA_CHECKPOINTS })
          .then(async () => {
            const resume = this.lakeOffsets(await readCommitRecords(ctx.lake))
            await cleanClaims(ctx.lake, ctx.topic, resume, ctx.stagingGraceMs, ctx.now(), ctx.topicId)
          })
          .catch((error) => ctx.warn(`Lake checkpoint not written: ${(error as Error).message}`))
      }
      ctx.afterFlush?.()
    } finally {
      this.setWriting(false)
      await rm(dir, { recursive: true, force: true })
      await buffer.discard(gen)
    }
  }
}
