import { gunzipSync } from 'node:zlib'
import { Decompress as ZstdDecompress } from 'fzstd'
import { decompressBlock as lz4Block } from 'lz4js'
import { uncompress as snappyUncompress } from 'snappyjs'
import { BATCH_HEADER_SIZE, batchCompression } from './batch.js'

/**
 * Reading the records inside a RecordBatch v2: zig-zag varints and bounded gzip inflation, shared
 * by the broker (ListOffsets by timestamp, below) and the stream's lean fetcher
 * (src/lib/kafka/lean-fetcher.ts).
 */

/** The most a compressed batch is inflated to (a hostile producer could store a decompression bomb). */
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

/** Kafka's compression codec ids (batch attributes bits 0-2). */
export const CODEC_NAMES: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/**
 * The records section of the batch at `at` (ending at `end`), decompressed if needed; null for a
 * codec id Kafka does not define (5-7). Throws (Error) when the compressed data is corrupt or
 * inflates past MAX_INFLATED_BYTES.
 */
export function batchRecords(batch: Buffer, at: number, end: number): RecordCursor | null {
  const codec = batchCompression(batch, at)
  if (codec === 0) return { buf: batch, pos: at + BATCH_HEADER_SIZE, end }
  if (codec > 4) return null
  const plain = decompress(codec, batch.subarray(at + BATCH_HEADER_SIZE, end))
  return { buf: plain, pos: 0, end: plain.length }
}

/**
 * The one place compressed records are inflated (codec 1 gzip, 2 snappy, 3 lz4, 4 zstd), each
 * bounded by MAX_INFLATED_BYTES. Throws on corrupt data.
 */
export function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 1:
      return gunzipSync(data, { maxOutputLength: MAX_INFLATED_BYTES })
    case 2:
      return unsnappy(data)
    case 3:
      return unlz4(data)
    case 4:
      return unzstd(data)
    default:
      throw new Error(`unknown compression codec ${codec}`)
  }
}

/** The xerial snappy-java stream header: magic \x82SNAPPY\0, then version and compatible version (int32 each). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])

/**
 * Snappy as Kafka producers write it: the Java client and librdkafka use xerial framing (header,
 * then blocks of int32 length + raw snappy); other clients (kafkajs codecs) may write one raw
 * snappy block. Both are read.
 */
function unsnappy(data: Buffer): Buffer {
  if (data.length < 16 || !data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return Buffer.from(snappyUncompress(data, MAX_INFLATED_BYTES))
  }
  const parts: Uint8Array[] = []
  let total = 0
  let pos = 16
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial snappy block length')
    const len = data.readInt32BE(pos)
    pos += 4
    if (len < 0 || pos + len > data.length) throw new Error(`xerial snappy block length ${len} past the end`)
    const part = snappyUncompress(data.subarray(pos, pos + len), MAX_INFLATED_BYTES - total)
    total += part.length
    parts.push(part)
    pos += len
  }
  return Buffer.concat(parts, total)
}

const LZ4_MAGIC = 0x184d2204
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]

/**
 * The LZ4 frame format, as Kafka's KafkaLZ4BlockOutputStream writes it for magic v1+ (RecordBatch
 * v2 included, so the header checksum is the correct one; the magic v0 quirk does not arise).
 * Blocks are decoded one at a time into buffers of the frame's block size, so the output stays
 * bounded even for a hostile frame. Checksums are not verified: the batch CRC covers the bytes.
 */
function unlz4(data: Buffer): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('not an LZ4 frame')
  const flags = data[4]
  if (flags >> 6 !== 1) throw new Error(`LZ4 frame version ${flags >> 6}`)
  const blockChecksum = (flags & 0x10) !== 0
  const contentSize = (flags & 0x08) !== 0
  const blockMax = LZ4_BLOCK_MAX[(data[5] >> 4) & 7]
  if (blockMax === 0) throw new Error('LZ4 frame block size invalid')
  let pos = 6 + (contentSize ? 8 : 0) + 1 // descriptor, content size, header checksum
  if ((flags & 0x01) !== 0) pos += 4 // dictionary id
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    if (pos + 4 > data.length) throw new Error('truncated LZ4 frame')
    const word = data.readUInt32LE(pos)
    pos += 4
    if (word === 0) break // end mark
    const size = word & 0x7fffffff
    if (pos + size > data.length || size > blockMax) throw new Error(`LZ4 block size ${size} invalid`)
    let part: Uint8Array
    if ((word & 0x80000000) !== 0) {
      part = data.subarray(pos, pos + size)
    } else {
      const dst = Buffer.allocUnsafe(blockMax)
      const n = lz4Block(data, dst, pos, size, 0)
      if (!(n >= 0 && n <= blockMax)) throw new Error('LZ4 block inflates past its block size')
      part = dst.subarray(0, n)
    }
    total += part.length
    if (total > MAX_INFLATED_BYTES) throw new Error(`LZ4 data inflates past ${MAX_INFLATED_BYTES} bytes`)
    parts.push(part)
    pos += size + (blockChecksum ? 4 : 0)
  }
  return Buffer.concat(parts, total)
}

/** Zstandard, streamed so that the output is counted as it grows. */
function unzstd(data: Buffer): Buffer {
  const parts: Uint8Array[] = []
  let total = 0
  const z = new ZstdDecompress((chunk) => {
    total += chunk.length
    if (total > MAX_INFLATED_BYTES) throw new Error(`zstd data inflates past ${MAX_INFLATED_BYTES} bytes`)
    parts.push(chunk)
  })
  z.push(data, true)
  return Buffer.concat(parts, total)
}

/**
 * The first record of `batch` (one whole batch, base offset assigned) whose timestamp is >= target.
 * Returns undefined when the batch's records cannot be read here (unknown codec, or malformed),
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

/**
 * Why the records of the uncompressed batch at `at` (ending at `end`) are malformed, or null when
 * they parse, as Kafka's LogValidator checks them on produce: `recordCount` records, each with a
 * non-negative length that stays inside the batch, its fields (attributes, timestamp and offset
 * deltas, key, value, headers) inside that length and ending exactly at it, and no bytes after
 * the last record. Does not allocate.
 */
export function recordsProblem(batch: Buffer, at: number, end: number, count: number): string | null {
  const c: RecordCursor = { buf: batch, pos: at + BATCH_HEADER_SIZE, end }
  try {
    for (let i = 0; i < count; i++) {
      const length = readVarint(c)
      const recordEnd = c.pos + length
      if (length < 1 || recordEnd > end) return `record ${i}: length ${length} outside the batch`
      c.end = recordEnd
      c.pos++ // attributes
      readVarint(c) // timestamp delta
      readVarint(c) // offset delta
      const keyLen = readVarint(c)
      if (keyLen < -1 || c.pos + Math.max(0, keyLen) > recordEnd) return `record ${i}: key length ${keyLen}`
      if (keyLen > 0) c.pos += keyLen
      const valueLen = readVarint(c)
      if (valueLen < -1 || c.pos + Math.max(0, valueLen) > recordEnd)
        return `record ${i}: value length ${valueLen}`
      if (valueLen > 0) c.pos += valueLen
      const headers = readVarint(c)
      if (headers < 0) return `record ${i}: header count ${headers}`
      for (let h = 0; h < headers; h++) {
        const hk = readVarint(c)
        if (hk < 0 || c.pos + hk > recordEnd) return `record ${i}: header key length ${hk}`
        c.pos += hk
        const hv = readVarint(c)
        if (hv < -1 || c.pos + Math.max(0, hv) > recordEnd) return `record ${i}: header value length ${hv}`
        if (hv > 0) c.pos += hv
      }
      if (c.pos !== recordEnd) return `record ${i}: ${recordEnd - c.pos} bytes left inside the record`
      c.end = end
    }
  } catch (error) {
    if (error instanceof RangeError) return error.message
    throw error
  }
  if (c.pos !== end) return `${end - c.pos} bytes after the last of ${count} records`
  return null
}
