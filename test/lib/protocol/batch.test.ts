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
