import { describe, expect, it } from 'vitest'
import { assignOffsets, splitBatches } from '../../../src/lib/broker/log/batch.js'
import { LogError } from '../../../src/lib/broker/log/types.js'
import {
  batchCompression,
  batchProblem,
  readBatchHeader,
  setBatchBaseOffset,
} from '../../../src/lib/protocol/batch.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { recordsProblem } from '../../../src/lib/protocol/records.js'
import { Compression, makeBatch, values } from '../broker/log/helpers.js'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof LogError ? err.code : 'not a LogError'
  }
  return undefined
}

describe('RecordBatch v2 helpers', () => {
  it('reads every header field of a kafkajs batch', async () => {
    const b = await makeBatch({ values: values('v', 0, 3), timestamp: 1_700_000_000_123 })
    const h = readBatchHeader(b)
    expect(h).toMatchObject({
      baseOffset: 0n,
      batchLength: b.length - 12,
      partitionLeaderEpoch: 0,
      magic: 2,
      attributes: 0,
      lastOffsetDelta: 2,
      baseTimestamp: 1_700_000_000_123n,
      maxTimestamp: 1_700_000_000_123n,
      producerId: -1n,
      producerEpoch: 0,
      baseSequence: 0,
      recordCount: 3,
    })
    expect(h.crc).toBe(crc32c(b, 21))
  })

  it('splits concatenated batches and assigns consecutive offsets without breaking the CRC', async () => {
    const a = await makeBatch({ values: values('a', 0, 2) })
    const b = await makeBatch({ values: values('b', 0, 5) })
    const payload = Buffer.concat([a, b])
    const spans = splitBatches(payload)
    expect(spans.map((s) => [s.position, s.size, s.lastOffsetDelta])).toEqual([
      [0, a.length, 1],
      [a.length, b.length, 4],
    ])
    expect(assignOffsets(payload, spans, 40n)).toBe(47n)
    expect(readBatchHeader(payload, 0).baseOffset).toBe(40n)
    expect(readBatchHeader(payload, a.length).baseOffset).toBe(42n)
    expect(batchProblem(payload, 0, payload.length)).toBeNull()
    expect(batchProblem(payload, a.length, payload.length)).toBeNull()
    setBatchBaseOffset(payload, 0, 9_000_000_000n)
    expect(readBatchHeader(payload).baseOffset).toBe(9_000_000_000n)
    expect(batchProblem(payload, 0, payload.length)).toBeNull()
  })

  it('accepts a gzip batch as is (compression bits, uncompressed record count)', async () => {
    const g = await makeBatch({ values: values('g', 0, 20, 100), compression: Compression.GZIP })
    expect(batchCompression(g)).toBe(1)
    expect(splitBatches(g)).toHaveLength(1)
    expect(readBatchHeader(g).recordCount).toBe(20)
  })

  it('validates uncompressed records on produce (valid CRC, garbage records: CORRUPT_MESSAGE)', async () => {
    const good = await makeBatch({ values: values('r', 0, 3) })
    expect(recordsProblem(good, 0, good.length, 3)).toBeNull()
    const withCrc = (b: Buffer) => {
      b.writeUInt32BE(crc32c(b, 21), 17)
      return b
    }
    // Garbage in place of the records, CRC recomputed: accepted before (error 0), refused now.
    const garbage = withCrc(Buffer.from(good).fill(0xff, 61))
    expect(batchProblem(garbage, 0, garbage.length)).toBeNull()
    expect(codeOf(() => splitBatches(garbage))).toBe('CORRUPT_MESSAGE')
    // One record more than the bytes hold (count and lastOffsetDelta agree).
    const more = Buffer.from(good)
    more.writeInt32BE(3, 23)
    more.writeInt32BE(4, 57)
    expect(codeOf(() => splitBatches(withCrc(more)))).toBe('CORRUPT_MESSAGE')
    // Trailing bytes after the last record.
    const trailing = Buffer.concat([good, Buffer.from([0, 0, 0])])
    trailing.writeInt32BE(trailing.length - 12, 8)
    expect(codeOf(() => splitBatches(withCrc(trailing)))).toBe('CORRUPT_MESSAGE')
    expect(recordsProblem(trailing, 0, trailing.length, 3)).toMatch(/3 bytes after the last of 3 records/)
    // A first record length past the batch.
    const long = Buffer.from(good)
    long[61] = 0x7e // zig-zag 63
    expect(codeOf(() => splitBatches(withCrc(long)))).toBe('CORRUPT_MESSAGE')
    // The good batch and a gzip one still pass.
    expect(splitBatches(Buffer.from(good))).toHaveLength(1)
  })

  it('rejects a CRC mismatch, a bad magic, truncation, bad lengths and counts', async () => {
    const good = await makeBatch({ values: values('x', 0, 2) })
    const flipped = Buffer.from(good)
    flipped[flipped.length - 1] ^= 1
    expect(codeOf(() => splitBatches(flipped))).toBe('CORRUPT_MESSAGE')
    expect(batchProblem(flipped, 0, flipped.length)).toMatch(/CRC/)

    const magic1 = Buffer.from(good)
    magic1[16] = 1
    expect(batchProblem(magic1, 0, magic1.length)).toMatch(/magic 1/)

    expect(batchProblem(good, 0, good.length - 1)).toMatch(/truncated/)
    expect(codeOf(() => splitBatches(good.subarray(0, 40)))).toBe('CORRUPT_MESSAGE')
    expect(codeOf(() => splitBatches(Buffer.concat([good, good.subarray(0, 70)])))).toBe('CORRUPT_MESSAGE')
    expect(codeOf(() => splitBatches(Buffer.alloc(0)))).toBe('CORRUPT_MESSAGE')

    const shortLen = Buffer.from(good)
    shortLen.writeInt32BE(10, 8)
    expect(batchProblem(shortLen, 0, shortLen.length)).toMatch(/batchLength/)

    const badCount = Buffer.from(good)
    badCount.writeInt32BE(5, 23)
    expect(batchProblem(badCount, 0, badCount.length)).toMatch(/lastOffsetDelta/)

    expect(codeOf(() => splitBatches(good))).toBeUndefined()
  })
})
