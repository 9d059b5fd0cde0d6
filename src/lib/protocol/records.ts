import { gunzipSync } from 'node:zlib'
import { BATCH_HEADER_SIZE, batchCompression } from './batch.js'

/**
 * Reading the records inside a RecordBatch v2: zig-zag varints and bounded gzip inflation, shared
 * by the broker (ListOffsets by timestamp, below) and the stream's lean fetcher
 * (src/lib/kafka/lean-fetcher.ts).
 */

/** The most a gzip batch is inflated to (a hostile producer could store a gzip bomb). */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024

/** A position in a buffer of records; reads stop at `end`. */
export interface RecordCursor {
  buf: Buffer
  pos: number
  end: number
}

/**
 * A zig-zag varint/varlong at the cursor (numbers up to 2^53: record lengths and deltas), advancing
 * it. Throws RangeError when it runs past `end` or is longer than 10 bytes.
 */
export function readVarint(c: RecordCursor): number {
  let raw = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.end) throw new RangeError('truncated varint')
    const byte = c.buf[c.pos++]
    raw += (byte & 0x7f) * scale
    // zigzag decode without 32-bit bitwise operators (deltas may exceed 2^31)
    if (byte < 0x80) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
    scale *= 128
  }
  throw new RangeError('varint longer than 10 bytes')
}

/**
 * The records section of the batch at `at` (ending at `end`), inflated if gzip-compressed; null for
 * codecs read nowhere here (snappy, lz4, zstd). Throws when gzip data is corrupt or inflates past
 * MAX_INFLATED_BYTES.
 */
export function batchRecords(batch: Buffer, at: number, end: number): RecordCursor | null {
  const codec = batchCompression(batch, at)
  if (codec === 0) return { buf: batch, pos: at + BATCH_HEADER_SIZE, end }
  if (codec !== 1) return null
  const plain = gunzipSync(batch.subarray(at + BATCH_HEADER_SIZE, end), {
    maxOutputLength: MAX_INFLATED_BYTES,
  })
  return { buf: plain, pos: 0, end: plain.length }
}

/**
 * The first record of `batch` (one whole batch, base offset assigned) whose timestamp is >= target.
 * Returns undefined when the batch's records cannot be read here (snappy, lz4, zstd, or malformed),
 * null when no record qualifies.
 */
export function firstRecordAtOrAfter(
  batch: Buffer,
  target: bigint,
): { offset: bigint; timestamp: bigint } | null | undefined {
  try {
    if (batch.length < BATCH_HEADER_SIZE) return undefined
    const baseOffset = batch.readBigInt64BE(0)
    const end = 12 + batch.readInt32BE(8)
    const baseTimestamp = batch.readBigInt64BE(27)
    const count = batch.readInt32BE(57)
    // Bounded: past the inflation cap the lookup falls back to the batch start.
    const c = batchRecords(batch, 0, end)
    if (c === null) return undefined
    for (let i = 0; i < count; i++) {
      const length = readVarint(c)
      const bodyEnd = c.pos + length
      c.pos++ // attributes
      const tsDelta = readVarint(c)
      const offsetDelta = readVarint(c)
      const timestamp = baseTimestamp + BigInt(tsDelta)
      if (timestamp >= target) return { offset: baseOffset + BigInt(offsetDelta), timestamp }
      c.pos = bodyEnd
    }
    return null
  } catch {
    return undefined
  }
}
