/**
 * One segment of a partition: `%020d.log` (raw batches, base offsets assigned), a sparse
 * `%020d.index` (relative offset u32 + file position u32, one entry at the first batch and then
 * every ~4 KiB) and `%020d.timeindex` (16-byte entries written at the same points: the max batch
 * timestamp of everything *before* the point i64, relative offset u32, position u32; a closed
 * segment's time index ends with an entry at the end of the segment, which carries its max
 * timestamp, next offset and size and so proves the index complete).
 */
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BATCH_SCAN_PREFIX,
  batchProblem,
  MAGIC_V2,
} from '../../protocol/batch.js'
import { readAt } from './files.js'

export const INDEX_INTERVAL_BYTES = 4096
export const INDEX_ENTRY = 8
export const TIME_ENTRY = 16

export function segmentFileName(baseOffset: bigint, ext: 'log' | 'index' | 'timeindex'): string {
  return `${baseOffset.toString().padStart(20, '0')}.${ext}`
}

/** Base offset from a `%020d.log` name, or null for any other file. */
export function parseSegmentName(name: string): bigint | null {
  const m = /^(\d{20})\.log$/.exec(name)
  return m ? BigInt(m[1]) : null
}

/** Append-only growable buffer for index entries. */
class GrowBuf {
  buf: Buffer
  length = 0
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial)
  }
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }
  view(): Buffer {
    return this.buf.subarray(0, this.length)
  }
}

export interface IndexMark {
  offsets: number
  times: number
  bytesSinceEntry: number
  maxTimestamp: bigint
}

/** Builds the index and time index of the active segment in memory as batches are appended. */
export class IndexBuilder {
  private readonly offsets = new GrowBuf(256)
  private readonly times = new GrowBuf(512)
  private bytesSinceEntry = 0
  /** Max batch timestamp of everything added so far (-1 when empty). */
  maxTimestamp = -1n

  /** Call for each batch in log order, before its bytes count as written. */
  add(relOffset: number, position: number, size: number, maxTimestamp: bigint): void {
    if (this.offsets.length === 0 || this.bytesSinceEntry >= INDEX_INTERVAL_BYTES) {
      this.offsets.reserve(INDEX_ENTRY)
      this.offsets.buf.writeUInt32BE(relOffset, this.offsets.length)
      this.offsets.buf.writeUInt32BE(position, this.offsets.length + 4)
      this.offsets.length += INDEX_ENTRY
      this.pushTime(this.maxTimestamp, relOffset, position)
      this.bytesSinceEntry = 0
    }
    this.bytesSinceEntry += size
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp
  }

  /** Where the builder is now: reset() to it undoes everything added (or finished) since. */
  mark(): IndexMark {
    return {
      offsets: this.offsets.length,
      times: this.times.length,
      bytesSinceEntry: this.bytesSinceEntry,
      maxTimestamp: this.maxTimestamp,
    }
  }

  reset(m: IndexMark): void {
    this.offsets.length = m.offsets
    this.times.length = m.times
    this.bytesSinceEntry = m.bytesSinceEntry
    this.maxTimestamp = m.maxTimestamp
  }

  offsetIndex(): Buffer {
    return this.offsets.view()
  }
  timeIndex(): Buffer {
    return this.times.view()
  }

  /** The index files of the segment once it is closed (time index gets its end entry). */
  finish(nextRelOffset: number, size: number): { offsets: Buffer; times: Buffer } {
    this.pushTime(this.maxTimestamp, nextRelOffset, size)
    return { offsets: Buffer.from(this.offsets.view()), times: Buffer.from(this.times.view()) }
  }

  private pushTime(ts: bigint, relOffset: number, position: number): void {
    this.times.reserve(TIME_ENTRY)
    const o = this.times.length
    this.times.buf.writeBigInt64BE(ts, o)
    this.times.buf.writeUInt32BE(relOffset, o + 8)
    this.times.buf.writeUInt32BE(position, o + 12)
    this.times.length += TIME_ENTRY
  }
}

/** Position of the largest index entry whose relative offset <= relOffset (0 if none). */
export function lookupPosition(index: Buffer, relOffset: number): number {
  let lo = 0
  let hi = index.length / INDEX_ENTRY - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (index.readUInt32BE(mid * INDEX_ENTRY) <= relOffset) {
      found = index.readUInt32BE(mid * INDEX_ENTRY + 4)
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** Position of the last index entry at or before `position` (0 if none): a batch start to scan from. */
export function indexPositionAtOrBefore(index: Buffer, position: number): number {
  let lo = 0
  let hi = index.length / INDEX_ENTRY - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const at = index.readUInt32BE(mid * INDEX_ENTRY + 4)
    if (at <= position) {
      found = at
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * Start of the scan for the first batch with maxTimestamp >= ts: the last time-index entry whose
 * "max before" is below ts (every batch before it is older than ts).
 */
export function lookupTimePosition(times: Buffer, ts: bigint): number {
  let lo = 0
  let hi = times.length / TIME_ENTRY - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (times.readBigInt64BE(mid * TIME_ENTRY) < ts) {
      found = times.readUInt32BE(mid * TIME_ENTRY + 12)
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** Decoded end entry of a closed segment's time index. */
export interface TimeIndexEnd {
  maxTimestamp: bigint
  nextRelOffset: number
  size: number
}

export function timeIndexEnd(times: Buffer): TimeIndexEnd | null {
  if (times.length < TIME_ENTRY || times.length % TIME_ENTRY !== 0) return null
  const o = times.length - TIME_ENTRY
  return {
    maxTimestamp: times.readBigInt64BE(o),
    nextRelOffset: times.readUInt32BE(o + 8),
    size: times.readUInt32BE(o + 12),
  }
}

/** True if a closed segment's offset index is well-formed for a log of `size` bytes. */
export function offsetIndexLooksValid(index: Buffer, size: number): boolean {
  if (index.length % INDEX_ENTRY !== 0) return false
  if (size === 0) return true
  if (index.length === 0 || index.readUInt32BE(0) !== 0 || index.readUInt32BE(4) !== 0) return false
  let prevRel = -1
  let prevPos = -1
  for (let o = 0; o < index.length; o += INDEX_ENTRY) {
    const rel = index.readUInt32BE(o)
    const pos = index.readUInt32BE(o + 4)
    if (rel <= prevRel || pos <= prevPos || pos >= size) return false
    prevRel = rel
    prevPos = pos
  }
  return true
}

export interface ScanResult {
  /** Bytes of whole, valid batches from the start of the file. */
  validSize: number
  /** Offset after the last valid batch (= base offset if none). */
  nextOffset: bigint
  builder: IndexBuilder
  /** Why the scan stopped before the end of the file, if it did. */
  problem: string | null
}

const SCAN_CHUNK = 1 << 20

/**
 * Reads a segment batch by batch from the start, validating length, magic, count, CRC and offset
 * continuity, and rebuilds its indexes. Stops at the first bad byte (a torn or corrupt write).
 */
export async function scanSegment(
  fh: FileHandle,
  baseOffset: bigint,
  fileSize: number,
  /** Called with each valid batch (its bytes start at `pos` of `buf`), in offset order. */
  onBatch?: (buf: Buffer, pos: number, baseOffset: bigint) => void,
): Promise<ScanResult> {
  const builder = new IndexBuilder()
  let pos = 0
  let next = baseOffset
  let problem: string | null = null
  while (pos < fileSize) {
    const chunk = await readAt(fh, pos, Math.min(SCAN_CHUNK, fileSize - pos))
    let p = 0
    let advanced = false
    while (p < chunk.length) {
      if (chunk.length - p < BATCH_SCAN_PREFIX) break
      const size = BATCH_LOG_OVERHEAD + chunk.readInt32BE(p + 8)
      if (size > chunk.length - p && pos + p + size <= fileSize && size > BATCH_SCAN_PREFIX) {
        if (p === 0) {
          // A batch bigger than the chunk: read it whole.
          const whole = await readAt(fh, pos, size)
          problem = checkBatch(whole, 0, whole.length, next)
          if (problem) break
          builder.add(Number(next - baseOffset), pos, size, whole.readBigInt64BE(35))
          onBatch?.(whole, 0, next)
          next += BigInt(whole.readInt32BE(23)) + 1n
          p = size
          advanced = true
        }
        break
      }
      problem = checkBatch(chunk, p, chunk.length, next)
      if (problem) break
      builder.add(Number(next - baseOffset), pos + p, size, chunk.readBigInt64BE(p + 35))
      onBatch?.(chunk, p, next)
      next += BigInt(chunk.readInt32BE(p + 23)) + 1n
      p += size
      advanced = true
    }
    if (problem) {
      pos += p
      break
    }
    if (!advanced) {
      problem = `truncated batch at byte ${pos + p}`
      pos += p
      break
    }
    pos += p
  }
  return { validSize: pos, nextOffset: next, builder, problem }
}

function checkBatch(buf: Buffer, p: number, end: number, expectedBase: bigint): string | null {
  const problem = batchProblem(buf, p, end)
  if (problem) return problem
  const base = buf.readBigInt64BE(p)
  if (base !== expectedBase) return `batch base offset ${base}, expected ${expectedBase}`
  return null
}

export function segmentPaths(dir: string, baseOffset: bigint) {
  return {
    log: path.join(dir, segmentFileName(baseOffset, 'log')),
    index: path.join(dir, segmentFileName(baseOffset, 'index')),
    timeindex: path.join(dir, segmentFileName(baseOffset, 'timeindex')),
  }
}

/**
 * Position of the first whole, CRC-valid batch that starts after `from` (null if none): tells a
 * torn tail (nothing valid follows the bad bytes: truncate them) from damage in the middle of the
 * log (valid batches follow: truncating would drop acknowledged data). Reads the rest of the file
 * in chunks; only positions whose magic byte is 2 and whose length fits the file are read whole
 * and pay for a CRC. Runs only when recovery found a bad batch.
 */
export async function findValidBatchAfter(
  fh: FileHandle,
  from: number,
  fileSize: number,
): Promise<number | null> {
  const minLength = BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD
  for (let base = from + 1; base + BATCH_SCAN_PREFIX <= fileSize; base += SCAN_CHUNK) {
    // Each chunk overlaps the next by a scan prefix, so a header across the boundary is seen.
    const chunk = await readAt(fh, base, Math.min(SCAN_CHUNK + BATCH_SCAN_PREFIX, fileSize - base))
    const last = Math.min(SCAN_CHUNK, chunk.length - BATCH_SCAN_PREFIX + 1)
    for (let p = 0; p < last; p++) {
      if (chunk[p + 16] !== MAGIC_V2) continue
      const length = chunk.readInt32BE(p + 8)
      const at = base + p
      if (length < minLength || at + BATCH_LOG_OVERHEAD + length > fileSize) continue
      const whole =
        p + BATCH_LOG_OVERHEAD + length <= chunk.length
          ? chunk.subarray(p, p + BATCH_LOG_OVERHEAD + length)
          : await readAt(fh, at, BATCH_LOG_OVERHEAD + length)
      if (batchProblem(whole, 0, whole.length) === null) return at
    }
  }
  return null
}
