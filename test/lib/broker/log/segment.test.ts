import { open as openFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  INDEX_INTERVAL_BYTES,
  IndexBuilder,
  lookupPosition,
  lookupTimePosition,
  offsetIndexLooksValid,
  parseSegmentName,
  scanSegment,
  segmentFileName,
  timeIndexEnd,
} from '../../../../src/lib/broker/log/segment.js'
import { makeBatch, values, withTempDir } from './helpers.js'

describe('segment files and indexes', () => {
  it('names segments by zero-padded base offset', () => {
    expect(segmentFileName(42n, 'log')).toBe('00000000000000000042.log')
    expect(segmentFileName(42n, 'timeindex')).toBe('00000000000000000042.timeindex')
    expect(parseSegmentName('00000000000000000042.log')).toBe(42n)
    expect(parseSegmentName('00000000000000000042.index')).toBeNull()
    expect(parseSegmentName('42.log')).toBeNull()
  })

  it('builds a sparse index: first batch, then one entry per ~4 KiB', () => {
    const b = new IndexBuilder()
    let pos = 0
    for (let i = 0; i < 100; i++) {
      b.add(i * 2, pos, 1000, BigInt(100 + i))
      pos += 1000
    }
    const idx = b.offsetIndex()
    const n = idx.length / 8
    expect(n).toBe(20) // an entry every 5 batches (5000 bytes >= 4096)
    expect(INDEX_INTERVAL_BYTES).toBe(4096)
    expect([idx.readUInt32BE(0), idx.readUInt32BE(4), idx.readUInt32BE(8), idx.readUInt32BE(12)]).toEqual([
      0, 0, 10, 5000,
    ])
    expect(lookupPosition(idx, 0)).toBe(0)
    expect(lookupPosition(idx, 9)).toBe(0)
    expect(lookupPosition(idx, 10)).toBe(5000)
    expect(lookupPosition(idx, 199)).toBe(95_000)
    expect(lookupPosition(Buffer.alloc(0), 7)).toBe(0)
    expect(offsetIndexLooksValid(idx, pos)).toBe(true)
    expect(offsetIndexLooksValid(idx, 95_000)).toBe(false) // an entry beyond the file
    expect(offsetIndexLooksValid(idx.subarray(0, 12), pos)).toBe(false)
    expect(offsetIndexLooksValid(Buffer.alloc(0), pos)).toBe(false)

    // Time entries hold the max timestamp *before* their point: jump to the last one below ts.
    const t = b.timeIndex()
    expect(lookupTimePosition(t, 0n)).toBe(0)
    expect(lookupTimePosition(t, 112n)).toBe(10_000) // entries at 104 (pos 5000), 109 (pos 10000)
    const end = b.finish(200, pos)
    expect(timeIndexEnd(end.times)).toEqual({ maxTimestamp: 199n, nextRelOffset: 200, size: pos })
    expect(timeIndexEnd(Buffer.alloc(10))).toBeNull()
  })

  it('scans a segment, stops at the first bad byte and at an offset gap', () =>
    withTempDir(async (dir) => {
      const batches: Buffer[] = []
      let next = 100n
      for (let i = 0; i < 5; i++) {
        const b = await makeBatch({ values: values('s', 0, 3, 2000), timestamp: 50 + i })
        b.writeBigInt64BE(next, 0)
        next += 3n
        batches.push(b)
      }
      const whole = Buffer.concat(batches)
      const file = path.join(dir, 'seg.log')
      const scan = async (buf: Buffer) => {
        await writeFile(file, buf)
        const fh = await openFile(file, 'r')
        try {
          return await scanSegment(fh, 100n, buf.length)
        } finally {
          await fh.close()
        }
      }
      const ok = await scan(whole)
      expect(ok).toMatchObject({ validSize: whole.length, nextOffset: 115n, problem: null })
      expect(ok.builder.maxTimestamp).toBe(54n)
      expect(ok.builder.offsetIndex().length / 8).toBe(5) // each ~6 KiB batch is past the 4 KiB interval

      const torn = await scan(whole.subarray(0, whole.length - 100))
      expect(torn.validSize).toBe(whole.length - batches[4].length)
      expect(torn.nextOffset).toBe(112n)
      expect(torn.problem).toMatch(/truncated/)

      const gap = Buffer.from(whole)
      gap.writeBigInt64BE(500n, batches[0].length * 2)
      const g = await scan(gap)
      expect(g.validSize).toBe(batches[0].length * 2)
      expect(g.problem).toMatch(/expected 106/)

      const zeros = await scan(Buffer.concat([whole, Buffer.alloc(4096)]))
      expect(zeros.validSize).toBe(whole.length)
      expect(zeros.problem).toMatch(/batchLength/)
    }))
})
