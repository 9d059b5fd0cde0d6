import { gunzipSync } from 'node:zlib'

/**
 * Just enough of RecordBatch v2 to answer ListOffsets by timestamp exactly: walk the records of
 * one batch (uncompressed or gzip) for the first one whose timestamp reaches the target.
 */

const HEADER = 61

function readVarint(buf: Buffer, at: number): { value: number; next: number } {
  let raw = 0
  let scale = 1
  let i = at
  for (;;) {
    if (i >= buf.length || scale > 2 ** 63) throw new RangeError('truncated varint')
    const byte = buf[i++]
    raw += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) break
    scale *= 128
  }
  // zigzag decode without 32-bit bitwise operators (deltas may exceed 2^31)
  const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
  return { value, next: i }
}

/**
 * The first record of `batch` (one whole batch, base offset assigned) whose timestamp is >= target.
 * Returns undefined when the batch's records cannot be read here (snappy, lz4, zstd, or malformed),
 * null when no record qualifies.
 */
/** The most a stored gzip batch is inflated to when looking up a timestamp inside it. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024

export function firstRecordAtOrAfter(
  batch: Buffer,
  target: bigint,
): { offset: bigint; timestamp: bigint } | null | undefined {
  try {
    if (batch.length < HEADER) return undefined
    const baseOffset = batch.readBigInt64BE(0)
    const end = 12 + batch.readInt32BE(8)
    const attributes = batch.readInt16BE(21)
    const baseTimestamp = batch.readBigInt64BE(27)
    const count = batch.readInt32BE(57)
    const codec = attributes & 7
    let records: Buffer
    if (codec === 0) records = batch.subarray(HEADER, end)
    // Bounded: a hostile producer could store a gzip bomb; past the cap, fall back to the batch start.
    else if (codec === 1)
      records = gunzipSync(batch.subarray(HEADER, end), { maxOutputLength: MAX_INFLATED_BYTES })
    else return undefined
    let at = 0
    for (let i = 0; i < count; i++) {
      const length = readVarint(records, at)
      const bodyStart = length.next
      const tsDelta = readVarint(records, bodyStart + 1) // skip attributes
      const offsetDelta = readVarint(records, tsDelta.next)
      const timestamp = baseTimestamp + BigInt(tsDelta.value)
      if (timestamp >= target) return { offset: baseOffset + BigInt(offsetDelta.value), timestamp }
      at = bodyStart + length.value
    }
    return null
  } catch {
    return undefined
  }
}
