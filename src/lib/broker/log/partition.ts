/**
 * One partition's log: a sorted list of segments, the last one active. Appends are validated and
 * given offsets synchronously, then written by a single per-partition writer that takes everything
 * queued since its last write (group commit: one writev + one fdatasync for all of it). The high
 * watermark moves only after the data is written (and synced under fsync 'always').
 */
import { constants as fsConstants } from 'node:fs'
import { copyFile, type FileHandle, mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { BATCH_LOG_OVERHEAD, BATCH_SCAN_PREFIX, type BatchSpan } from '../../protocol/batch.js'
import type { DeferredBytes } from '../../protocol/primitives.js'
import { assignOffsets, splitBatches } from './batch.js'
import {
  type FileCache,
  type FileLease,
  readAt,
  removeFile,
  syncDir,
  type WriteFaults,
  writeAll,
  writeFileDurable,
  writeNewFile,
} from './files.js'
import { isNoSpace, type StorageHealthTracker } from './health.js'
import {
  type ProducerCheck,
  ProducerStateTable,
  producerBatchAt,
  replaySegmentHeaders,
} from './producer-state.js'
import {
  findValidBatchAfter,
  IndexBuilder,
  type IndexMark,
  indexPositionAtOrBefore,
  lookupPosition,
  lookupTimePosition,
  offsetIndexLooksValid,
  parseSegmentName,
  scanSegment,
  segmentPaths,
  timeIndexEnd,
} from './segment.js'
import {
  type AppendResult,
  type DeferredReadResult,
  type FsyncPolicy,
  LogError,
  type PartitionLog,
  type ReadResult,
  type TopicConfig,
} from './types.js'

/** Keeps the indexes of a few closed segments in memory (each at most ~200 KiB for 64 MiB). */
export class IndexCache {
  private readonly entries = new Map<Segment, Promise<{ offsets: Buffer; times: Buffer }>>()
  constructor(private readonly max: number) {}

  get(seg: Segment): Promise<{ offsets: Buffer; times: Buffer }> {
    let e = this.entries.get(seg)
    if (e) this.entries.delete(seg)
    else {
      e = Promise.all([readFile(seg.paths.index), readFile(seg.paths.timeindex)]).then(
        ([offsets, times]) => ({
          offsets,
          times,
        }),
      )
      e.catch(() => this.entries.delete(seg))
    }
    this.entries.set(seg, e)
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as Segment
      this.entries.delete(oldest)
    }
    return e
  }

  forget(seg: Segment): void {
    this.entries.delete(seg)
  }
}

export interface PartitionContext {
  files: FileCache
  indexes: IndexCache
  fsync: FsyncPolicy
  /** After a failed write, appends are refused for this long, then the next one tries again. */
  storageRetryMs: number
  health?: StorageHealthTracker
  /** Test hook: a simulated full disk. */
  faults?: WriteFaults
}

/** The state before a write group: what a failed write rolls back to. */
interface WriteMark {
  segments: number
  active: Segment
  size: number
  builder: IndexBuilder
  index: IndexMark
  totalSize: number
}

/** Default of PartitionContext.storageRetryMs. */
export const DEFAULT_STORAGE_RETRY_MS = 250

export class Segment {
  readonly paths: { log: string; index: string; timeindex: string }
  /** Bytes written (the active segment may hold bytes not yet visible). */
  size = 0
  /** Bytes readers may see. */
  visibleSize = 0
  /** Offset after the last visible batch. */
  nextOffset: bigint
  /** Max batch timestamp over visible batches (-1 if none). */
  maxTimestamp = -1n
  /** In-memory indexes while active; null once closed (then read from the index files). */
  builder: IndexBuilder | null = null
  deleted = false

  constructor(
    dir: string,
    readonly baseOffset: bigint,
  ) {
    this.paths = segmentPaths(dir, baseOffset)
    this.nextOffset = baseOffset
  }
}

interface PendingAppend {
  payload: Buffer
  spans: BatchSpan[]
  baseOffset: bigint
  nextOffset: bigint
  resolve: (r: AppendResult) => void
  reject: (e: unknown) => void
  /** Filled by the writer: where the append ended. */
  segment?: Segment
  endPosition?: number
  maxTimestamp?: bigint
}

interface Waiter {
  offset: bigint
  done: () => void
}

const MAX_REL_OFFSET = 0x7fffffff
const LOCATE_CHUNK = 16 * 1024

export class Partition implements PartitionLog {
  private segments: Segment[] = []
  private logStart = 0n
  /** Next offset to assign (log end offset, includes appends not yet durable). */
  private leo = 0n
  private hw = 0n
  private totalSize = 0
  private pending: PendingAppend[] = []
  private writing = false
  private idleWaiters: (() => void)[] = []
  private syncRequested = false
  private unsynced = false
  /** A segment file was created and its directory entry is not yet durable. */
  private dirUnsynced = false
  /** The last write failed (a full disk): appends are refused until retryAt, then retried. */
  private failure: Error | null = null
  private retryAt = 0
  /** A failed write could not be undone: the partition stays read-only until reopened. */
  private broken: Error | null = null
  private closed = false
  private retaining = false
  private waiters = new Set<Waiter>()
  private writes = 0
  private syncs = 0
  /** Idempotent producers' epochs and last batches (rebuilt from the tail segments at open). */
  private readonly producers: ProducerStateTable
  private readonly label: string

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly config: TopicConfig,
    private readonly ctx: PartitionContext,
  ) {
    this.label = `${topic}-${partition}`
    this.producers = new ProducerStateTable(this.label)
  }

  /** Opens (creating if needed) and recovers the partition directory. */
  static async open(
    topic: string,
    partition: number,
    dir: string,
    config: TopicConfig,
    ctx: PartitionContext,
  ): Promise<Partition> {
    const p = new Partition(topic, partition, dir, config, ctx)
    await p.load()
    return p
  }

  logStartOffset(): bigint {
    return this.logStart
  }

  highWatermark(): bigint {
    return this.hw
  }

  sizeBytes(): number {
    return this.totalSize
  }

  /** Counters: write groups (one writev each) and fdatasyncs of the active segment so far. */
  stats(): { writes: number; syncs: number; segments: number } {
    return { writes: this.writes, syncs: this.syncs, segments: this.segments.length }
  }

  /** Every .log file of the partition (to close handles before removing the directory). */
  segmentFiles(): string[] {
    return this.segments.map((s) => s.paths.log)
  }

  append(payload: Buffer): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new LogError('STORAGE_ERROR', `${this.name()} is closed`))
    if (this.broken)
      return Promise.reject(
        new LogError(
          'STORAGE_ERROR',
          `${this.name()} is read-only after a write failure that could not be undone: ${this.broken.message}`,
          'Restart the broker (`game down && game up`).',
        ),
      )
    if (this.failure && Date.now() < this.retryAt) {
      this.ctx.health?.refused()
      return Promise.reject(
        new LogError('STORAGE_ERROR', `${this.name()} cannot write: ${this.failure.message}`),
      )
    }
    let spans: BatchSpan[]
    let producer: ProducerCheck | null
    try {
      spans = splitBatches(payload)
      producer = this.producers.check(payload, spans)
    } catch (err) {
      return Promise.reject(err)
    }
    if (producer?.kind === 'duplicate') {
      // A retry of a batch already appended: ack the original offset once that one is durable.
      const ack = () => ({ baseOffset: producer.baseOffset, logStartOffset: this.logStart })
      return producer.done ? producer.done.then(ack) : Promise.resolve(ack())
    }
    const baseOffset = this.leo
    const nextOffset = assignOffsets(payload, spans, baseOffset)
    this.leo = nextOffset
    const done = new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ payload, spans, baseOffset, nextOffset, resolve, reject })
      this.kick()
    })
    producer?.commit(baseOffset, done)
    return done
  }

  /** Producer ids with idempotence state in this partition. */
  producerCount(): number {
    return this.producers.size
  }

  async read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    this.checkRange(offset)
    const hw = this.hw
    const empty = { records: Buffer.alloc(0), highWatermark: hw, logStartOffset: this.logStart }
    if (offset === hw) return empty
    const segments = this.segments
    let i = findSegment(segments, offset)
    const parts: Buffer[] = []
    let budget = Math.max(0, maxBytes)
    let target = offset
    try {
      for (; i < segments.length; i++) {
        const seg = segments[i]
        const limit = seg.visibleSize
        if (limit === 0) continue
        const start = await this.locate(seg, target, limit)
        if (start === null) continue
        const got = await this.readBatches(seg, start.position, limit, budget, parts.length === 0, start.size)
        if (got.length > 0) {
          parts.push(got)
          budget -= got.length
        }
        // Stop when out of budget or the segment was not read to its end.
        if (budget <= 0 || start.position + got.length < limit) break
        target = seg.nextOffset
        if (target >= hw) break
      }
    } catch (err) {
      if (offset < this.logStart)
        throw new LogError(
          'OFFSET_OUT_OF_RANGE',
          `offset ${offset} was deleted by retention (log start ${this.logStart})`,
        )
      throw storageError(err, `read ${this.name()}`)
    }
    return {
      records: parts.length === 1 ? parts[0] : Buffer.concat(parts),
      // Current, not the one at the start: a segment's visible size may have grown meanwhile.
      highWatermark: this.hw,
      logStartOffset: this.logStart,
    }
  }

  async readDeferred(offset: bigint, maxBytes: number): Promise<DeferredReadResult> {
    this.checkRange(offset)
    const hw = this.hw
    const regions: { lease: FileLease; position: number; length: number }[] = []
    const release = () => {
      for (const r of regions.splice(0)) r.lease.release()
    }
    try {
      if (offset < hw) {
        const segments = this.segments
        let budget = Math.max(0, maxBytes)
        let target = offset
        for (let i = findSegment(segments, offset); i < segments.length; i++) {
          const seg = segments[i]
          const limit = seg.visibleSize
          if (limit === 0) continue
          const start = await this.locate(seg, target, limit)
          if (start === null) continue
          let want = Math.min(budget, limit - start.position)
          if (want < start.size) {
            if (regions.length > 0) break
            want = start.size
          }
          // The lease keeps the file open while the response is sent, even if retention deletes it.
          const lease = await this.ctx.files.acquire(seg.paths.log)
          const end =
            start.position + want >= limit
              ? limit
              : await this.lastBoundary(seg, lease, start.position, start.position + want)
          regions.push({ lease, position: start.position, length: end - start.position })
          budget -= end - start.position
          if (budget <= 0 || end < limit) break
          target = seg.nextOffset
          if (target >= hw) break
        }
      }
    } catch (err) {
      release()
      if (offset < this.logStart)
        throw new LogError(
          'OFFSET_OUT_OF_RANGE',
          `offset ${offset} was deleted by retention (log start ${this.logStart})`,
        )
      throw storageError(err, `read ${this.name()}`)
    }
    const length = regions.reduce((n, r) => n + r.length, 0)
    const records: DeferredBytes = {
      length,
      read: async (from, size) => {
        // Pieces never cross a region: the caller asks again for the rest.
        let skip = from
        for (const r of regions) {
          if (skip >= r.length) {
            skip -= r.length
            continue
          }
          return readAt(r.lease.fh, r.position + skip, Math.min(size, r.length - skip))
        }
        return Buffer.alloc(0)
      },
      release,
    }
    return { records, highWatermark: this.hw, logStartOffset: this.logStart }
  }

  /** The last batch boundary in (from, end]: from the offset index, then batch headers. */
  private async lastBoundary(seg: Segment, lease: FileLease, from: number, end: number): Promise<number> {
    const index = seg.builder ? seg.builder.offsetIndex() : (await this.ctx.indexes.get(seg)).offsets
    let pos = Math.max(from, indexPositionAtOrBefore(index, end))
    for (;;) {
      if (pos + BATCH_LOG_OVERHEAD > end) break
      const head = await readAt(lease.fh, pos, BATCH_LOG_OVERHEAD)
      if (head.length < BATCH_LOG_OVERHEAD) break
      const size = BATCH_LOG_OVERHEAD + head.readInt32BE(8)
      if (pos + size > end) break
      pos += size
    }
    // At least the first batch (the caller sized `end` to hold it).
    return pos > from ? pos : end
  }

  async offsetForTimestamp(timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    try {
      return await this.findByTimestamp(timestamp)
    } catch (err) {
      throw storageError(err, `timestamp lookup in ${this.name()}`)
    }
  }

  private async findByTimestamp(timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    const segments = this.segments
    for (const seg of segments) {
      if (seg.visibleSize === 0 || seg.maxTimestamp < timestamp) continue
      const times = seg.builder ? seg.builder.timeIndex() : (await this.ctx.indexes.get(seg)).times
      let pos = lookupTimePosition(times, timestamp)
      const lease = await this.ctx.files.acquire(seg.paths.log)
      try {
        while (pos < seg.visibleSize) {
          const head = await readAt(lease.fh, pos, Math.min(LOCATE_CHUNK, seg.visibleSize - pos))
          let p = 0
          while (p + 43 <= head.length) {
            const maxTs = head.readBigInt64BE(p + 35)
            if (maxTs >= timestamp) return { offset: head.readBigInt64BE(p), timestamp: maxTs }
            p += BATCH_LOG_OVERHEAD + head.readInt32BE(p + 8)
          }
          if (p === 0) break
          pos += p
        }
      } finally {
        lease.release()
      }
    }
    return null
  }

  waitForData(offset: bigint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.hw > offset || this.closed || signal?.aborted || timeoutMs <= 0) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', finish)
        this.waiters.delete(waiter)
        resolve()
      }
      const waiter: Waiter = { offset, done: finish }
      const timer = setTimeout(finish, timeoutMs)
      signal?.addEventListener('abort', finish, { once: true })
      this.waiters.add(waiter)
    })
  }

  /** Makes everything written so far durable (used by the interval fsync policy and close). */
  async flush(): Promise<void> {
    if (!this.unsynced && !this.writing && this.pending.length === 0) return
    this.syncRequested = true
    this.kick()
    await this.idle()
  }

  /**
   * Deletes whole closed segments that are beyond retention (size, then age), advances and
   * persists the log start offset. Returns the number of segments deleted. Also forgets idempotent
   * producers silent for a day (Kafka's producer.id.expiration.ms).
   */
  async enforceRetention(now: number): Promise<number> {
    this.producers.expire(now)
    const { retentionBytes, retentionMs } = this.config
    if ((retentionBytes < 0 && retentionMs < 0) || this.retaining || this.closed) return 0
    const doomed: Segment[] = []
    let size = this.totalSize
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i]
      if (seg.nextOffset > this.hw || seg.visibleSize !== seg.size) break
      const bySize = retentionBytes >= 0 && size - seg.size >= retentionBytes
      const byAge = retentionMs >= 0 && seg.maxTimestamp < BigInt(now - retentionMs)
      if (!bySize && !byAge) break
      doomed.push(seg)
      size -= seg.size
    }
    if (doomed.length === 0) return 0
    this.retaining = true
    try {
      await this.deleteSegments(doomed)
    } finally {
      this.retaining = false
    }
    return doomed.length
  }

  async deleteRecordsBefore(offset: bigint): Promise<bigint> {
    const target = offset === -1n ? this.hw : offset
    if (target < 0n || target > this.hw)
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is past ${this.name()}'s high watermark ${this.hw}`,
      )
    if (target <= this.logStart) return this.logStart
    await writeFileDurable(
      path.join(this.dir, 'state.json'),
      JSON.stringify({ logStartOffset: target.toString() }),
      this.ctx.faults,
    )
    this.logStart = target
    return target
  }

  /** Stops appends, drains the writer, syncs, wakes waiters. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.syncRequested = true
    this.kick()
    await this.idle()
    for (const w of [...this.waiters]) w.done()
  }

  private name(): string {
    return this.label
  }

  private checkRange(offset: bigint): void {
    if (offset < this.logStart || offset > this.hw)
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside ${this.name()} [${this.logStart}, ${this.hw}]`,
      )
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Position and size of the visible batch holding `offset` (or the first after it), or null. */
  private async locate(
    seg: Segment,
    offset: bigint,
    limit: number,
  ): Promise<{ position: number; size: number } | null> {
    const rel = offset <= seg.baseOffset ? 0 : Number(offset - seg.baseOffset)
    const index = seg.builder ? seg.builder.offsetIndex() : (await this.ctx.indexes.get(seg)).offsets
    let pos = lookupPosition(index, rel)
    const lease = await this.ctx.files.acquire(seg.paths.log)
    try {
      while (pos < limit) {
        const head = await readAt(lease.fh, pos, Math.min(LOCATE_CHUNK, limit - pos))
        let p = 0
        while (p + BATCH_SCAN_PREFIX <= head.length) {
          const size = BATCH_LOG_OVERHEAD + head.readInt32BE(p + 8)
          const last = head.readBigInt64BE(p) + BigInt(head.readInt32BE(p + 23))
          if (last >= offset) return { position: pos + p, size }
          p += size
        }
        if (p === 0) return null
        pos += p
      }
      return null
    } finally {
      lease.release()
    }
  }

  /**
   * Whole batches from `position` up to `budget` bytes (at least one batch when `atLeastOne`).
   */
  private async readBatches(
    seg: Segment,
    position: number,
    limit: number,
    budget: number,
    atLeastOne: boolean,
    firstSize: number,
  ): Promise<Buffer> {
    let want = Math.min(budget, limit - position)
    if (want < firstSize) {
      if (!atLeastOne) return Buffer.alloc(0)
      want = firstSize
    }
    const lease = await this.ctx.files.acquire(seg.paths.log)
    let buf: Buffer
    try {
      buf = await readAt(lease.fh, position, want)
    } finally {
      lease.release()
    }
    // Cut at the last whole batch.
    let p = 0
    while (p + BATCH_SCAN_PREFIX <= buf.length) {
      const size = BATCH_LOG_OVERHEAD + buf.readInt32BE(p + 8)
      if (p + size > buf.length) break
      p += size
    }
    return p === buf.length ? buf : buf.subarray(0, p)
  }

  // ---- the writer -------------------------------------------------------------------------

  private kick(): void {
    if (this.writing) return
    this.writing = true
    void this.drain()
  }

  private idle(): Promise<void> {
    if (!this.writing) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.syncRequested) {
        const group = this.pending
        this.pending = []
        const sync = this.ctx.fsync === 'always' || this.syncRequested
        this.syncRequested = false
        if (this.broken) {
          this.rejectAll(group, this.broken)
          continue
        }
        const mark = this.mark()
        try {
          if (group.length > 0) await this.writeGroup(group)
          if (sync && this.unsynced) {
            const lease = await this.ctx.files.acquire(this.active().paths.log)
            try {
              await lease.fh.datasync()
            } finally {
              lease.release()
            }
            this.syncs++
            this.unsynced = false
            if (this.dirUnsynced) {
              await syncDir(this.dir)
              this.dirUnsynced = false
            }
          }
        } catch (err) {
          const failure = storageError(err, `append to ${this.name()}`)
          const rejected = [...group, ...this.pending]
          this.pending = []
          await this.undoFailedWrite(failure, mark, rejected.length)
          this.rejectAll(rejected, failure)
          continue
        }
        this.publish(group)
        if (group.length > 0) {
          this.failure = null
          this.ctx.health?.wrote(this.name())
        }
      }
    } finally {
      this.writing = false
      const w = this.idleWaiters
      this.idleWaiters = []
      for (const f of w) f()
    }
  }

  private mark(): WriteMark {
    const active = this.active()
    return {
      segments: this.segments.length,
      active,
      size: active.size,
      builder: active.builder!,
      index: active.builder!.mark(),
      totalSize: this.totalSize,
    }
  }

  /**
   * A write group failed (ENOSPC, EIO ...): every append of it and every one queued behind it is
   * refused, and the partition goes back to exactly the state before the group: the active
   * segment truncated to its last published size, its in-memory indexes reset, segments created
   * by a roll during the group removed (with the index files the roll wrote), the log end offset
   * back at the high watermark and the producers' batches of the refused appends forgotten. Then
   * appends are refused for storageRetryMs, and the next one tries to write again. If the undo
   * itself fails, the partition stays read-only until it is reopened.
   */
  private async undoFailedWrite(failure: Error, mark: WriteMark, refused: number): Promise<void> {
    this.failure = failure
    this.retryAt = Number.POSITIVE_INFINITY
    try {
      const created = this.segments.slice(mark.segments)
      this.segments = this.segments.slice(0, mark.segments)
      const seg = mark.active
      for (const c of created) {
        c.deleted = true
        await this.ctx.files.forget(c.paths.log)
        await removeFile(c.paths.log)
      }
      // If it rolled (or began to) during the group, it is the active segment again: the index
      // files the roll wrote go (an active segment has none on disk).
      this.ctx.indexes.forget(seg)
      await removeFile(seg.paths.index)
      await removeFile(seg.paths.timeindex)
      seg.builder = mark.builder
      seg.builder.reset(mark.index)
      seg.size = mark.size
      this.totalSize = mark.totalSize
      const lease = await this.ctx.files.acquire(seg.paths.log)
      try {
        await lease.fh.truncate(mark.size)
      } finally {
        lease.release()
      }
      if (created.length > 0) await syncDir(this.dir)
    } catch (err) {
      this.broken = storageError(err, `undo a failed write to ${this.name()}`)
    }
    this.leo = this.hw
    this.producers.dropFrom(this.hw)
    this.retryAt = Date.now() + this.ctx.storageRetryMs
    // Every failure is told: the tracker starts an episode only when none is running. A partition
    // left read-only stays failing whatever else writes.
    this.ctx.health?.failed(this.name(), (this.broken ?? failure).message, isNoSpace(failure) && !this.broken)
    this.ctx.health?.refused(refused)
  }

  private rejectAll(group: PendingAppend[], err: Error): void {
    for (const e of group) e.reject(err)
  }

  private active(): Segment {
    return this.segments[this.segments.length - 1]
  }

  /** Writes a group of appends to the active segment, rolling when it is full. */
  private async writeGroup(group: PendingAppend[]): Promise<void> {
    let seg = this.active()
    let buffers: Buffer[] = []
    let writeAt = seg.size
    let pos = seg.size
    for (const e of group) {
      const rel = e.nextOffset - seg.baseOffset
      if (pos > 0 && (pos + e.payload.length > this.config.segmentBytes || rel > BigInt(MAX_REL_OFFSET))) {
        await this.writeTo(seg, buffers, writeAt)
        buffers = []
        seg = await this.roll(seg, e.baseOffset, pos)
        writeAt = 0
        pos = 0
      }
      const builder = seg.builder!
      let maxTs = -1n
      let base = e.baseOffset
      for (const s of e.spans) {
        builder.add(Number(base - seg.baseOffset), pos + s.position, s.size, s.maxTimestamp)
        if (s.maxTimestamp > maxTs) maxTs = s.maxTimestamp
        base += BigInt(s.lastOffsetDelta) + 1n
      }
      buffers.push(e.payload)
      pos += e.payload.length
      seg.size = pos
      this.totalSize += e.payload.length
      e.segment = seg
      e.endPosition = pos
      e.maxTimestamp = maxTs
    }
    await this.writeTo(seg, buffers, writeAt)
  }

  private async writeTo(seg: Segment, buffers: Buffer[], position: number): Promise<void> {
    if (buffers.length === 0) return
    const lease = await this.ctx.files.acquire(seg.paths.log)
    try {
      const faults = this.ctx.faults
      await writeAll(lease.fh, buffers, position, faults ? { file: seg.paths.log, faults } : undefined)
    } finally {
      lease.release()
    }
    this.writes++
    this.unsynced = true
  }

  /**
   * Closes `seg` (sync its log, write and sync its indexes) and starts a new active segment at
   * `baseOffset`. Closed segments are always durable, so recovery only scans the active one.
   */
  private async roll(seg: Segment, baseOffset: bigint, size: number): Promise<Segment> {
    const lease = await this.ctx.files.acquire(seg.paths.log)
    try {
      await lease.fh.datasync()
    } finally {
      lease.release()
    }
    const { offsets, times } = seg.builder!.finish(Number(baseOffset - seg.baseOffset), size)
    await writeNewFile(seg.paths.index, offsets, this.ctx.faults)
    await writeNewFile(seg.paths.timeindex, times, this.ctx.faults)
    const next = new Segment(this.dir, baseOffset)
    next.builder = new IndexBuilder()
    // Listed before its file exists, so that undoing a failed write removes it whatever step failed.
    this.segments = [...this.segments, next]
    await (await open(next.paths.log, 'w')).close()
    await syncDir(this.dir)
    seg.builder = null
    return next
  }

  /** Makes a written group visible: segment sizes, high watermark, resolves, wakes fetchers. */
  private publish(group: PendingAppend[]): void {
    for (const e of group) {
      const seg = e.segment!
      seg.visibleSize = e.endPosition!
      seg.nextOffset = e.nextOffset
      if (e.maxTimestamp! > seg.maxTimestamp) seg.maxTimestamp = e.maxTimestamp!
      this.hw = e.nextOffset
    }
    for (const e of group) e.resolve({ baseOffset: e.baseOffset, logStartOffset: this.logStart })
    if (this.waiters.size > 0) {
      for (const w of [...this.waiters]) if (this.hw > w.offset) w.done()
    }
  }

  // ---- retention --------------------------------------------------------------------------

  private async deleteSegments(doomed: Segment[]): Promise<void> {
    const newStart = this.segments[doomed.length].baseOffset
    await writeFileDurable(
      path.join(this.dir, 'state.json'),
      JSON.stringify({ logStartOffset: newStart.toString() }),
      this.ctx.faults,
    )
    this.logStart = newStart
    // Only retention removes segments (one run at a time), so the doomed ones are still first.
    this.segments = this.segments.slice(doomed.length)
    for (const seg of doomed) {
      seg.deleted = true
      this.totalSize -= seg.size
      this.ctx.indexes.forget(seg)
      await this.ctx.files.forget(seg.paths.log)
      await removeFile(seg.paths.log)
      await removeFile(seg.paths.index)
      await removeFile(seg.paths.timeindex)
    }
    await syncDir(this.dir)
  }

  // ---- open / recovery --------------------------------------------------------------------

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const names = await readdir(this.dir)
    const bases: bigint[] = []
    for (const n of names) {
      const b = parseSegmentName(n)
      if (b !== null) bases.push(b)
      else if (n.endsWith('.tmp')) await removeFile(path.join(this.dir, n))
    }
    bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    let logStart = bases.length > 0 ? bases[0] : 0n
    try {
      const state = JSON.parse(await readFile(path.join(this.dir, 'state.json'), 'utf8')) as {
        logStartOffset?: string
      }
      if (state.logStartOffset !== undefined && BigInt(state.logStartOffset) > logStart)
        logStart = BigInt(state.logStartOffset)
    } catch (err) {
      // Written by tmp + rename, so it is never torn; unreadable state means "no retention yet".
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError))
        throw storageError(err, `read ${this.name()} state`)
    }
    // Segments wholly below the log start (a retention run interrupted after persisting it).
    while (bases.length > 1 && bases[1] <= logStart) {
      const gone = segmentPaths(this.dir, bases.shift()!)
      await removeFile(gone.log)
      await removeFile(gone.index)
      await removeFile(gone.timeindex)
    }
    if (bases.length === 0) {
      bases.push(logStart)
      await (await open(segmentPaths(this.dir, logStart).log, 'w')).close()
      // The directory is fsynced before the first append to this file is acknowledged.
      this.dirUnsynced = true
    }
    const segments: Segment[] = []
    for (let i = 0; i < bases.length; i++) {
      const seg = new Segment(this.dir, bases[i])
      const isActive = i === bases.length - 1
      const size = (await stat(seg.paths.log)).size
      if (isActive) await this.recoverActive(seg, size)
      else {
        await this.loadClosed(seg, size, bases[i + 1])
        // Producer state comes from the tail: the last closed segment, then the active one.
        if (i === bases.length - 2) await this.replayProducers(seg)
      }
      segments.push(seg)
    }
    this.segments = segments
    this.totalSize = segments.reduce((n, s) => n + s.size, 0)
    const active = segments[segments.length - 1]
    this.logStart = logStart < segments[0].baseOffset ? segments[0].baseOffset : logStart
    this.leo = active.nextOffset
    this.hw = active.nextOffset
    if (this.logStart > this.hw) this.logStart = this.hw
  }

  /** Scans the active segment, truncates a torn tail, rebuilds its indexes in memory. */
  private async recoverActive(seg: Segment, size: number): Promise<void> {
    const fh = await open(seg.paths.log, 'r+')
    try {
      const scan = await scanSegment(fh, seg.baseOffset, size, (buf, pos, base) =>
        this.producers.replay(producerBatchAt(buf, pos), base),
      )
      if (scan.validSize < size) {
        await this.refuseIfDamaged(fh, seg, scan.validSize, size, scan.problem)
        await fh.truncate(scan.validSize)
        await fh.sync()
      }
      seg.size = seg.visibleSize = scan.validSize
      seg.nextOffset = scan.nextOffset
      seg.builder = scan.builder
      seg.maxTimestamp = scan.builder.maxTimestamp
    } finally {
      await fh.close()
    }
    // Stale index files of the active segment are rebuilt when it rolls.
    await removeFile(seg.paths.index)
    await removeFile(seg.paths.timeindex)
  }

  /** Replays the producer fields of a closed segment's batch headers. */
  private async replayProducers(seg: Segment): Promise<void> {
    const fh = await open(seg.paths.log, 'r')
    try {
      await replaySegmentHeaders(fh, seg.size, this.producers)
    } finally {
      await fh.close()
    }
  }

  /**
   * A scan stopped at `bad` before the end of the file. Only a torn tail (no whole, valid batch
   * after the bad bytes) may be truncated. Otherwise truncating would silently drop acknowledged
   * batches: keep a copy of the segment beside it (`.corrupt`), change nothing, and refuse to open.
   */
  private async refuseIfDamaged(
    fh: FileHandle,
    seg: Segment,
    bad: number,
    size: number,
    problem: string | null,
  ): Promise<void> {
    const next = await findValidBatchAfter(fh, bad, size)
    if (next === null) return
    const copy = `${seg.paths.log}.corrupt`
    await copyFile(seg.paths.log, copy, fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw storageError(err, `copy ${seg.paths.log} aside`)
    })
    throw new LogError(
      'CORRUPT_LOG',
      `${seg.paths.log} is damaged at byte ${bad} (${problem ?? 'bad batch'}) and valid batches follow at byte ${next}; ` +
        `truncating it would drop ${size - bad} bytes of acknowledged data, so the broker will not start`,
      `A copy is kept at ${copy}. To start anyway and lose everything from byte ${bad} on, run ` +
        `\`truncate -s ${bad} '${seg.paths.log}'\` and then \`game up\` again (see docs/broker-storage.md, "Damaged segments").`,
    )
  }

  /** Trusts a closed segment's index files if they are complete; rebuilds them otherwise. */
  private async loadClosed(seg: Segment, size: number, nextBase: bigint): Promise<void> {
    const [index, times] = await Promise.all([
      readFile(seg.paths.index).catch(() => null),
      readFile(seg.paths.timeindex).catch(() => null),
    ])
    const end = times ? timeIndexEnd(times) : null
    if (
      index &&
      end &&
      end.size === size &&
      BigInt(end.nextRelOffset) === nextBase - seg.baseOffset &&
      offsetIndexLooksValid(index, size)
    ) {
      seg.size = seg.visibleSize = size
      seg.nextOffset = nextBase
      seg.maxTimestamp = end.maxTimestamp
      return
    }
    const fh = await open(seg.paths.log, 'r+')
    try {
      const scan = await scanSegment(fh, seg.baseOffset, size)
      if (scan.validSize < size) {
        await this.refuseIfDamaged(fh, seg, scan.validSize, size, scan.problem)
        await fh.truncate(scan.validSize)
        await fh.sync()
      }
      seg.size = seg.visibleSize = scan.validSize
      // A gap (a corrupt closed segment cut short) is skipped by reads.
      seg.nextOffset = nextBase
      seg.maxTimestamp = scan.builder.maxTimestamp
      const { offsets, times: t } = scan.builder.finish(Number(nextBase - seg.baseOffset), scan.validSize)
      await writeNewFile(seg.paths.index, offsets)
      await writeNewFile(seg.paths.timeindex, t)
    } finally {
      await fh.close()
    }
  }
}

/** Index of the last segment whose base offset <= offset (0 if none). */
function findSegment(segments: Segment[], offset: bigint): number {
  let lo = 0
  let hi = segments.length - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (segments[mid].baseOffset <= offset) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

function storageError(err: unknown, what: string): Error {
  if (err instanceof LogError) return err
  const e = new LogError('STORAGE_ERROR', `${what} failed: ${(err as Error).message}`)
  ;(e as Error).cause = err
  return e
}
