/**
 * Kafka's non-flexible primitive encodings: big-endian ints, int16-length strings, int32-length
 * bytes and arrays (-1 = null). The Reader throws a ProtocolDecodeError on any read past the end,
 * so a truncated or garbage request fails its own decode and nothing else.
 */

export class ProtocolDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolDecodeError'
  }
}

export class Reader {
  offset: number

  constructor(
    readonly buf: Buffer,
    offset = 0,
  ) {
    this.offset = offset
  }

  remaining(): number {
    return this.buf.length - this.offset
  }

  private need(n: number): number {
    const at = this.offset
    if (n < 0 || at + n > this.buf.length) {
      throw new ProtocolDecodeError(`read of ${n} bytes at ${at} past the end (${this.buf.length})`)
    }
    this.offset = at + n
    return at
  }

  int8(): number {
    return this.buf.readInt8(this.need(1))
  }

  bool(): boolean {
    return this.int8() !== 0
  }

  int16(): number {
    return this.buf.readInt16BE(this.need(2))
  }

  int32(): number {
    return this.buf.readInt32BE(this.need(4))
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.need(8))
  }

  nullableString(): string | null {
    const len = this.int16()
    if (len === -1) return null
    if (len < -1) throw new ProtocolDecodeError(`negative string length ${len}`)
    const at = this.need(len)
    return this.buf.toString('utf8', at, at + len)
  }

  string(): string {
    const s = this.nullableString()
    if (s === null) throw new ProtocolDecodeError('null where a string is required')
    return s
  }

  /** A view into the request frame (no copy); copy it if it must outlive the request. */
  nullableBytes(): Buffer | null {
    const len = this.int32()
    if (len === -1) return null
    if (len < -1) throw new ProtocolDecodeError(`negative bytes length ${len}`)
    const at = this.need(len)
    return this.buf.subarray(at, at + len)
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0)
  }

  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32()
    if (n === -1) return null
    if (n < -1) throw new ProtocolDecodeError(`negative array length ${n}`)
    // Each element takes at least one byte: a count larger than what is left is garbage.
    if (n > this.remaining()) throw new ProtocolDecodeError(`array length ${n} exceeds the frame`)
    const out: T[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = item(this)
    return out
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? []
  }
}

const SCRATCH = 16 * 1024

/**
 * Builds a response as a list of chunks: small fields go into a scratch buffer, large byte fields
 * (stored record batches) are appended as their own chunk without copying.
 */
export class Writer {
  private chunks: Buffer[] = []
  private buf: Buffer
  private pos = 0
  private total = 0

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    this.flush()
    this.buf = Buffer.allocUnsafe(Math.max(SCRATCH, n))
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos))
      this.buf = this.buf.subarray(this.pos)
      this.pos = 0
    }
  }

  int8(v: number): this {
    this.ensure(1)
    this.buf.writeInt8(v, this.pos)
    this.pos += 1
    this.total += 1
    return this
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0)
  }

  int16(v: number): this {
    this.ensure(2)
    this.buf.writeInt16BE(v, this.pos)
    this.pos += 2
    this.total += 2
    return this
  }

  int32(v: number): this {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
    this.total += 4
    return this
  }

  int64(v: bigint): this {
    this.ensure(8)
    this.buf.writeBigInt64BE(v, this.pos)
    this.pos += 8
    this.total += 8
    return this
  }

  nullableString(v: string | null | undefined): this {
    if (v === null || v === undefined) return this.int16(-1)
    const len = Buffer.byteLength(v)
    this.int16(len)
    this.ensure(len)
    this.buf.write(v, this.pos, 'utf8')
    this.pos += len
    this.total += len
    return this
  }

  string(v: string): this {
    return this.nullableString(v)
  }

  /** Appends the bytes; buffers over 1 KiB are referenced, not copied. */
  nullableBytes(v: Buffer | null | undefined): this {
    if (v === null || v === undefined) return this.int32(-1)
    this.int32(v.length)
    return this.raw(v)
  }

  bytes(v: Buffer): this {
    return this.nullableBytes(v)
  }

  raw(v: Buffer): this {
    if (v.length === 0) return this
    if (v.length > 1024) {
      this.flush()
      this.chunks.push(v)
    } else {
      this.ensure(v.length)
      v.copy(this.buf, this.pos)
      this.pos += v.length
    }
    this.total += v.length
    return this
  }

  array<T>(items: readonly T[], write: (w: this, item: T) => void): this {
    this.int32(items.length)
    for (const item of items) write(this, item)
    return this
  }

  nullableArray<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1)
    return this.array(items, write)
  }

  get length(): number {
    return this.total
  }

  /** The encoded bytes as chunks (valid until the writer is used again). */
  toChunks(): Buffer[] {
    this.flush()
    return this.chunks
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.toChunks(), this.total)
  }
}
