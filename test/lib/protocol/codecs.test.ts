import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { compress as lz4jsCompress } from 'lz4js'
import { compress as snappyCompress } from 'snappyjs'
import { describe, expect, it } from 'vitest'
import { forEachRecord } from '../../../src/lib/kafka/lean-fetcher.js'
import { encodeRecordBatch } from '../../../src/lib/kafka/lean-producer.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { decompress, firstRecordAtOrAfter, MAX_INFLATED_BYTES } from '../../../src/lib/protocol/records.js'

/** The real CLIs (zstd, lz4) compress, as a producer's library would. */
const cli = (cmd: string, args: string[], input: Buffer) =>
  execFileSync(cmd, args, { input, maxBuffer: 256 * 1024 * 1024 })

/** Kafka's xerial framing (snappy-java SnappyOutputStream): header, then int32-length-prefixed raw blocks. */
function xerial(plain: Buffer, blockSize = 32 * 1024): Buffer {
  const parts = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])]
  for (let at = 0; at < plain.length; at += blockSize) {
    const block = Buffer.from(snappyCompress(plain.subarray(at, at + blockSize)))
    const len = Buffer.alloc(4)
    len.writeInt32BE(block.length)
    parts.push(len, block)
  }
  return Buffer.concat(parts)
}

const T0 = 1_700_000_000_000
const values = Array.from(
  { length: 500 },
  (_, i) => `{"event_type":"add_money","amount":${i},"pad":"${'x'.repeat(i % 97)}"}`,
)

/** A batch of `values` at baseOffset whose records section is replaced by compress(records), codec set, CRC fixed. */
function compressedBatch(baseOffset: number, codec: number, compress: (b: Buffer) => Buffer): Buffer {
  const plain = encodeRecordBatch(
    values.map((value) => ({ key: null, value })),
    T0,
  )
  const b = Buffer.concat([plain.subarray(0, 61), compress(plain.subarray(61))])
  b.writeBigInt64BE(BigInt(baseOffset), 0)
  b.writeInt32BE(b.length - 12, 8)
  b.writeInt16BE(codec, 21)
  b.writeUInt32BE(crc32c(b, 21), 17)
  return b
}

const CASES: [string, number, (b: Buffer) => Buffer][] = [
  ['gzip', 1, (b) => gzipSync(b)],
  ['snappy (xerial framing, several blocks)', 2, (b) => xerial(b, 4096)],
  ['snappy (raw)', 2, (b) => Buffer.from(snappyCompress(b))],
  [
    'lz4 (frame, lz4 CLI, 64 KB blocks, block checksums)',
    3,
    (b) => cli('lz4', ['-c', '-B4', '-BX', '-q'], b),
  ],
  ['lz4 (frame with content size, lz4js)', 3, (b) => Buffer.from(lz4jsCompress(b))],
  ['zstd (zstd CLI)', 4, (b) => cli('zstd', ['-c', '-q', '-3'], b)],
]

describe('compressed record batches', () => {
  for (const [name, codec, compress] of CASES) {
    it(`reads ${name}: every record, in order, and ListOffsets by timestamp`, () => {
      const b = compressedBatch(1000, codec, compress)
      const seen: string[] = []
      const offsets: number[] = []
      const next = forEachRecord(
        b,
        1000,
        (offset, _ts, buf, start, end) => {
          offsets.push(offset)
          seen.push(buf.toString('utf8', start, end))
        },
        null,
        (first, last, reason) => expect.unreachable(`${first}-${last} ${reason}`),
      )
      expect(seen).toEqual(values)
      expect(offsets[0]).toBe(1000)
      expect(offsets.at(-1)).toBe(1499)
      expect(next).toBe(1500)
      // The broker's ListOffsets-by-timestamp lookup reads through the same function.
      expect(firstRecordAtOrAfter(b, BigInt(T0))).toEqual({ offset: 1000n, timestamp: BigInt(T0) })
    })
  }

  it('keeps the inflation bound for every codec: a bomb is an error, never 64 MB+ of memory', () => {
    const zeros = Buffer.alloc(MAX_INFLATED_BYTES + 1024 * 1024)
    expect(() => decompress(1, gzipSync(zeros))).toThrow()
    expect(() => decompress(2, xerial(zeros, 1024 * 1024))).toThrow(/too big/)
    expect(() => decompress(3, cli('lz4', ['-c', '-q'], zeros))).toThrow(/past/)
    expect(() => decompress(4, cli('zstd', ['-c', '-q'], zeros))).toThrow(/past/)
    // Just under the bound still inflates.
    expect(decompress(4, cli('zstd', ['-c', '-q'], Buffer.alloc(1024 * 1024))).length).toBe(1024 * 1024)
  })

  it('corrupt compressed data is an undecodable batch naming the codec; the batches around it are read', () => {
    for (const [name, codec, compress] of CASES) {
      const bad = compressedBatch(10, codec, (b) => {
        const c = compress(b)
        c.fill(0xa5, Math.floor(c.length / 3), Math.floor(c.length / 3) + 40)
        return c
      })
      const records = Buffer.concat([compressedBatch(0, 0, (b) => b).subarray(0, 0), bad])
      const reasons: string[] = []
      forEachRecord(
        records,
        0,
        () => {},
        null,
        (first, last, reason) => reasons.push(`${first}-${last} ${reason}`),
      )
      // A damaged stream either fails to decompress or yields records that do not parse.
      expect(reasons, name).toHaveLength(1)
      expect(reasons[0]).toMatch(/^\d+-509 /)
    }
  })
})
