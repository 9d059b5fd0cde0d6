import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { HDFS_BLOCK_SIZE, HdfsChecksumBuilder } from '../../../src/lib/hdfs/checksum.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'

/** The definition, written out plainly: CRC32C per chunk, MD5 of the CRCs per block, MD5 of the block MD5s. */
function reference(data: Buffer, blockSize: number, bytesPerCrc = 512): { algorithm: string; bytes: string } {
  const blockMd5s: Buffer[] = []
  for (let b = 0; b < data.length; b += blockSize) {
    const block = data.subarray(b, Math.min(data.length, b + blockSize))
    const crcs: Buffer[] = []
    for (let c = 0; c < block.length; c += bytesPerCrc) {
      const word = Buffer.alloc(4)
      word.writeUInt32BE(crc32c(block.subarray(c, Math.min(block.length, c + bytesPerCrc))))
      crcs.push(word)
    }
    blockMd5s.push(createHash('md5').update(Buffer.concat(crcs)).digest())
  }
  const crcPerBlock = blockMd5s.length > 1 ? blockSize / bytesPerCrc : 0
  const head = Buffer.alloc(12)
  head.writeInt32BE(bytesPerCrc, 0)
  head.writeBigInt64BE(BigInt(crcPerBlock), 4)
  const md5 = createHash('md5').update(Buffer.concat(blockMd5s)).digest()
  return {
    algorithm: `MD5-of-${crcPerBlock}MD5-of-${bytesPerCrc}CRC32C`,
    bytes: Buffer.concat([head, md5]).toString('hex'),
  }
}

function pseudoRandom(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

describe('HdfsChecksumBuilder (MD5-of-MD5-of-CRC32C, HDFS defaults)', () => {
  it('an empty file is the fixed entry HDFS returns for a file without blocks', () => {
    // MD5 of 32 zero bytes, with bytesPerCRC 0 and crcPerBlock 0 (FileChecksumHelper's magic entry).
    expect(new HdfsChecksumBuilder().result()).toEqual({
      algorithm: 'MD5-of-0MD5-of-0CRC32',
      bytes: '00000000000000000000000070bc8f4b72a86921468bf8e8441dce51',
      length: 28,
    })
  })

  it('a single-block file: the shape `hdfs dfs -checksum` prints (000002000000000000000000 + MD5)', () => {
    const data = pseudoRandom(100_000, 7)
    const sum = new HdfsChecksumBuilder().update(data).result()
    expect(sum.algorithm).toBe('MD5-of-0MD5-of-512CRC32C')
    expect(sum.length).toBe(28)
    expect(sum.bytes).toMatch(/^000002000000000000000000[0-9a-f]{32}$/)
    expect(sum).toMatchObject(reference(data, HDFS_BLOCK_SIZE))
  })

  it('does not depend on how the bytes are sliced (chunk boundaries inside update calls)', () => {
    const data = pseudoRandom(5000, 3)
    const whole = new HdfsChecksumBuilder().update(data).result()
    const sliced = new HdfsChecksumBuilder()
    sliced.update(data.subarray(0, 0)) // an empty slice is a no-op
    let i = 0
    for (const step of [1, 511, 2, 513, 1000, 7, 1500, 1466]) {
      sliced.update(data.subarray(i, i + step))
      i += step
    }
    expect(i).toBe(data.length)
    expect(sliced.result()).toEqual(whole)
  })

  it('several blocks: crcPerBlock is the chunks per block, and the last block may be short', () => {
    // A small block size stands in for 128 MiB; the rule is the same.
    const data = pseudoRandom(4096 * 2 + 700, 11)
    const sum = new HdfsChecksumBuilder(4096).update(data).result()
    expect(sum.algorithm).toBe('MD5-of-8MD5-of-512CRC32C')
    expect(sum).toMatchObject(reference(data, 4096))
    // Exactly one full block is a single block.
    const one = pseudoRandom(4096, 5)
    expect(new HdfsChecksumBuilder(4096).update(one).result()).toMatchObject(reference(one, 4096))
    expect(new HdfsChecksumBuilder(4096).update(one).result().algorithm).toBe('MD5-of-0MD5-of-512CRC32C')
  })

  it('differs when one byte differs', () => {
    const a = pseudoRandom(2048, 1)
    const b = Buffer.from(a)
    b[1500] ^= 1
    expect(new HdfsChecksumBuilder().update(a).result().bytes).not.toBe(
      new HdfsChecksumBuilder().update(b).result().bytes,
    )
  })
})
