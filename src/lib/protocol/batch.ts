/**
 * Pure helpers over RecordBatch v2 (magic 2) bytes. Offsets inside a batch:
 * 0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32 |
 * 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
 * 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordCount i32 | 61 records.
 * The CRC-32C covers bytes 21..end, so rewriting baseOffset keeps it valid. Records are never
 * decoded (compressed batches pass through untouched).
 */
import { crc32c } from './crc32c.js'

/** Size of the fixed RecordBatch v2 header. */
export const BATCH_HEADER_SIZE = 61
/** baseOffset + batchLength: the part of the header not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12
export const MAGIC_V2 = 2
/** Bytes of a header a scan needs to know the batch's size and offsets (through lastOffsetDelta). */
export const BATCH_SCAN_PREFIX = 27

export interface BatchHeader {
  baseOffset: bigint
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: bigint
  maxTimestamp: bigint
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

/** Where one batch sits inside a buffer, plus what the log needs from its header. */
export interface BatchSpan {
  /** Position of the batch in the buffer. */
  position: number
  /** Total size in bytes (12 + batchLength). */
  size: number
  lastOffsetDelta: number
  maxTimestamp: bigint
}

export function batchBaseOffset(buf: Buffer, pos = 0): bigint {
  return buf.readBigInt64BE(pos)
}
export function batchLength(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 8)
}
/** Total bytes of the batch at pos (12 + batchLength). */
export function batchSize(buf: Buffer, pos = 0): number {
  return BATCH_LOG_OVERHEAD + buf.readInt32BE(pos + 8)
}
export function batchPartitionLeaderEpoch(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 12)
}
export function batchMagic(buf: Buffer, pos = 0): number {
  return buf.readInt8(pos + 16)
}
export function batchCrc(buf: Buffer, pos = 0): number {
  return buf.readUInt32BE(pos + 17)
}
export function batchAttributes(buf: Buffer, pos = 0): number {
  return buf.readInt16BE(pos + 21)
}
/** Compression codec from attributes bits 0-2 (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export function batchCompression(buf: Buffer, pos = 0): number {
  return buf.readInt16BE(pos + 21) & 0x07
}
export function batchLastOffsetDelta(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 23)
}
export function batchBaseTimestamp(buf: Buffer, pos = 0): bigint {
  return buf.readBigInt64BE(pos + 27)
}
export function batchMaxTimestamp(buf: Buffer, pos = 0): bigint {
  return buf.readBigInt64BE(pos + 35)
}
export function batchProducerId(buf: Buffer, pos = 0): bigint {
  return buf.readBigInt64BE(pos + 43)
}
export function batchProducerEpoch(buf: Buffer, pos = 0): number {
  return buf.readInt16BE(pos + 51)
}
export function batchBaseSequence(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 53)
}
export function batchRecordCount(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 57)
}

/** Every header field of the batch at `pos` (the buffer must hold at least 61 bytes from pos). */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: batchBaseOffset(buf, pos),
    batchLength: batchLength(buf, pos),
    partitionLeaderEpoch: batchPartitionLeaderEpoch(buf, pos),
    magic: batchMagic(buf, pos),
    crc: batchCrc(buf, pos),
    attributes: batchAttributes(buf, pos),
    lastOffsetDelta: batchLastOffsetDelta(buf, pos),
    baseTimestamp: batchBaseTimestamp(buf, pos),
    maxTimestamp: batchMaxTimestamp(buf, pos),
    producerId: batchProducerId(buf, pos),
    producerEpoch: batchProducerEpoch(buf, pos),
    baseSequence: batchBaseSequence(buf, pos),
    recordCount: batchRecordCount(buf, pos),
  }
}

/** Overwrites baseOffset (bytes 0-7) of the batch at pos. The CRC does not cover it. */
export function setBatchBaseOffset(buf: Buffer, pos: number, baseOffset: bigint): void {
  buf.writeBigInt64BE(baseOffset, pos)
}

/**
 * Why the batch at `pos` is not a whole, valid v2 batch, or null if it is. `end` bounds the bytes
 * available. Checks: header fits, batchLength covers the header, the batch fits, magic == 2,
 * lastOffsetDelta == recordCount - 1 (>= 0), and (if checkCrc) the CRC-32C over bytes 21..end.
 */
export function batchProblem(buf: Buffer, pos: number, end: number, checkCrc = true): string | null {
  if (end - pos < BATCH_HEADER_SIZE) return `truncated batch header (${end - pos} bytes)`
  const length = buf.readInt32BE(pos + 8)
  if (length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) return `invalid batchLength ${length}`
  const size = BATCH_LOG_OVERHEAD + length
  if (size > end - pos) return `batch of ${size} bytes truncated to ${end - pos}`
  const magic = buf.readInt8(pos + 16)
  if (magic !== MAGIC_V2) return `unsupported magic ${magic} (only RecordBatch v2 is accepted)`
  const count = buf.readInt32BE(pos + 57)
  const lastOffsetDelta = buf.readInt32BE(pos + 23)
  if (count < 1 || lastOffsetDelta !== count - 1)
    return `lastOffsetDelta ${lastOffsetDelta} does not match recordCount ${count}`
  if (checkCrc) {
    const expected = buf.readUInt32BE(pos + 17)
    const actual = crc32c(buf, pos + 21, pos + size)
    if (expected !== actual) return `CRC-32C mismatch (stored ${expected}, computed ${actual})`
  }
  return null
}
