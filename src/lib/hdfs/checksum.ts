import { createHash, type Hash } from 'node:crypto'
import { crc32c } from '../protocol/crc32c.js'

/** HDFS's FileChecksum JSON object (GETFILECHECKSUM), as JsonUtil writes it. */
export interface HdfsFileChecksum {
  /** e.g. `MD5-of-0MD5-of-512CRC32C`. */
  algorithm: string
  /** Hex of the Writable form: int bytesPerCRC, long crcPerBlock, 16-byte MD5. */
  bytes: string
  /** Always 28 (4 + 8 + 16). */
  length: number
}

/** dfs.bytes-per-checksum default. */
export const HDFS_BYTES_PER_CRC = 512
/** dfs.blocksize default (128 MiB). */
export const HDFS_BLOCK_SIZE = 134_217_728

/**
 * Computes the checksum an HDFS cluster reports for a file written with the default settings
 * (dfs.checksum.type=CRC32C, 512 bytes per CRC, 128 MiB blocks, dfs.checksum.combine.mode=MD5MD5CRC):
 * a CRC-32C per 512-byte chunk (the last one may be short), per block the MD5 of those CRCs as
 * 4-byte big-endian words (what the datanode keeps in the block's .meta file), and the MD5 of the
 * block MD5s. `crcPerBlock` is 0 for a single-block file (the client reads it from the first block
 * only when there are several). An empty file has no blocks, and HDFS answers the fixed
 * `MD5-of-0MD5-of-0CRC32` entry (MD5 of 32 zero bytes). Feed the file in any slices with update().
 */
export class HdfsChecksumBuilder {
  private readonly blockSize: number
  private readonly bytesPerCrc: number
  private readonly fileMd5 = createHash('md5')
  private blockMd5: Hash | undefined
  private blocks = 0
  private blockBytes = 0
  private chunkFill = 0
  private chunkCrc = 0
  /** Chunk CRCs waiting to go into the block MD5 (batched: one update per 1024 CRCs). */
  private readonly crcs = Buffer.alloc(4096)
  private crcFill = 0

  constructor(blockSize = HDFS_BLOCK_SIZE, bytesPerCrc = HDFS_BYTES_PER_CRC) {
    if (blockSize % bytesPerCrc !== 0) throw new RangeError('blockSize must be a multiple of bytesPerCrc')
    this.blockSize = blockSize
    this.bytesPerCrc = bytesPerCrc
  }

  update(buf: Uint8Array): this {
    let i = 0
    while (i < buf.length) {
      const n = Math.min(this.bytesPerCrc - this.chunkFill, buf.length - i)
      this.chunkCrc = crc32c(buf, i, i + n, this.chunkCrc)
      this.chunkFill += n
      this.blockBytes += n
      i += n
      if (this.chunkFill === this.bytesPerCrc) this.endChunk()
      if (this.blockBytes === this.blockSize) this.endBlock()
    }
    return this
  }

  result(): HdfsFileChecksum {
    if (this.chunkFill > 0) this.endChunk()
    if (this.blockBytes > 0) this.endBlock()
    if (this.blocks === 0) return encode(0, 0, createHash('md5').update(Buffer.alloc(32)).digest(), 'CRC32')
    const crcPerBlock = this.blocks > 1 ? this.blockSize / this.bytesPerCrc : 0
    return encode(this.bytesPerCrc, crcPerBlock, this.fileMd5.digest(), 'CRC32C')
  }

  private endChunk(): void {
    this.blockMd5 ??= createHash('md5')
    this.crcs.writeUInt32BE(this.chunkCrc >>> 0, this.crcFill)
    this.crcFill += 4
    if (this.crcFill === this.crcs.length) {
      this.blockMd5.update(this.crcs)
      this.crcFill = 0
    }
    this.chunkCrc = 0
    this.chunkFill = 0
  }

  private endBlock(): void {
    const md5 = this.blockMd5 ?? createHash('md5')
    if (this.crcFill > 0) md5.update(this.crcs.subarray(0, this.crcFill))
    this.fileMd5.update(md5.digest())
    this.blockMd5 = undefined
    this.crcFill = 0
    this.blockBytes = 0
    this.blocks++
  }
}

function encode(bytesPerCrc: number, crcPerBlock: number, md5: Buffer, crcType: string): HdfsFileChecksum {
  const out = Buffer.alloc(28)
  out.writeInt32BE(bytesPerCrc, 0)
  out.writeBigInt64BE(BigInt(crcPerBlock), 4)
  md5.copy(out, 12)
  return {
    algorithm: `MD5-of-${crcPerBlock}MD5-of-${bytesPerCrc}${crcType}`,
    bytes: out.toString('hex'),
    length: out.length,
  }
}
