/**
 * Kafka's primitive encodings, both generations:
 * - classic: big-endian ints, int16-length strings, int32-length bytes and arrays (-1 = null);
 * - flexible (KIP-482): unsigned varints, compact strings/bytes/arrays (length + 1, 0 = null) and
 *   tagged fields.
 * The Reader throws a ProtocolDecodeError on any read past the end, so a truncated or garbage
 * request fails its own decode and nothing else.
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

  uint16(): number {
    return this.buf.readUInt16BE(this.need(2))
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.need(4))
  }

  float64(): number {
    return this.buf.readDoubleBE(this.need(8))
  }

  /** An unsigned varint (up to 32 bits), as in compact lengths and tagged-field headers. */
  uvarint(): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buf[this.need(1)]
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) {
        if (value > 0xffffffff) throw new ProtocolDecodeError(`unsigned varint ${value} exceeds 32 bits`)
        return value
      }
    }
    throw new ProtocolDecodeError('unsigned varint longer than 5 bytes')
  }

  /** A zig-zag signed varint (32 bits). */
  varint(): number {
    const raw = this.uvarint()
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
  }

  /** A UUID as 16 bytes, returned in Kafka's base64url form (22 chars, no padding). */
  uuid(): string {
    const at = this.need(16)
    return this.buf.toString('base64url', at, at + 16)
  }

  compactNullableString(): string | null {
    const n = this.uvarint()
    if (n === 0) return null
    const at = this.need(n - 1)
    return this.buf.toString('utf8', at, at + n - 1)
  }

  compactString(): string {
    const s = this.compactNullableString()
    if (s === null) throw new ProtocolDecodeError('null where a string is required')
    return s
  }

  /** A view into the frame (no copy). */
  compactNullableBytes(): Buffer | null {
    const n = this.uvarint()
    if (n === 0) return null
    const at = this.need(n - 1)
    return this.buf.subarray(at, at + n - 1)
  }

  compactBytes(): Buffer {
    return this.compactNullableBytes() ?? Buffer.alloc(0)
  }

  compactNullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.uvarint()
    if (n === 0) return null
    if (n - 1 > this.remaining()) throw new ProtocolDecodeError(`array length ${n - 1} exceeds the frame`)
    const out: T[] = new Array(n - 1)
    for (let i = 0; i < n - 1; i++) out[i] = item(this)
    return out
  }

  compactArray<T>(item: (r: Reader) => T): T[] {
    return this.compactNullableArray(item) ?? []
  }

  /**
   * A tagged-field section: calls `field(tag, reader, size)` for each entry; an entry the callback
   * does not consume (returns false) is skipped, as unknown tags must be.
   */
  taggedFields(field?: (tag: number, r: Reader, size: number) => boolean): void {
    const count = this.uvarint()
    let last = -1
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint()
      if (tag <= last) throw new ProtocolDecodeError(`tagged field ${tag} out of order`)
      last = tag
      const size = this.uvarint()
      const end = this.offset + size
      if (end > this.buf.length)
        throw new ProtocolDecodeError(`tagged field ${tag} of ${size} bytes past the end`)
      if (field?.(tag, this, size) && this.offset !== end)
        throw new ProtocolDecodeError(
          `tagged field ${tag} declared ${size} bytes, read ${this.offset - end + size}`,
        )
      this.offset = end
    }
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
 * Bytes a response carries without holding them: `length` bytes that `read(offset, length)` yields
 * in pieces while the response is written (record data streamed from a log segment), and
 * `release()` once written or abandoned. The writer only reserves their place.
 */
export interface DeferredBytes {
  readonly length: number
  read(offset: number, length: number): Promise<Buffer>
  release(): void
}

export function isDeferredBytes(v: unknown): v is DeferredBytes {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Buffer.isBuffer(v) &&
    typeof (v as DeferredBytes).read === 'function'
  )
}

/** A chunk of an encoded response: bytes, or a deferred piece read while sending. */
export type Chunk = Buffer | DeferredBytes

/**
 * Builds a response as a list of chunks: small fields go into a scratch buffer, large byte fields
 * (stored record batches) are appended as their own chunk without copying.
 */
export class Writer {
  private chunks: Chunk[] = []
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

  uint16(v: number): this {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
    this.total += 2
    return this
  }

  uint32(v: number): this {
    this.ensure(4)
    this.buf.writeUInt32BE(v, this.pos)
    this.pos += 4
    this.total += 4
    return this
  }

  float64(v: number): this {
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
    this.total += 8
    return this
  }

  uvarint(v: number): this {
    this.ensure(5)
    let n = v >>> 0
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80
      this.total++
      n >>>= 7
    }
    this.buf[this.pos++] = n
    this.total++
    return this
  }

  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0)
  }

  /** A UUID from Kafka's base64url form (22 chars); the zero UUID for '' (Uuid.ZERO_UUID). */
  uuid(v: string): this {
    const bytes = v === '' ? Buffer.alloc(16) : Buffer.from(v, 'base64url')
    if (bytes.length !== 16) throw new RangeError(`not a 16-byte UUID: ${v}`)
    this.ensure(16)
    bytes.copy(this.buf, this.pos)
    this.pos += 16
    this.total += 16
    return this
  }

  compactNullableString(v: string | null | undefined): this {
    if (v === null || v === undefined) return this.uvarint(0)
    const len = Buffer.byteLength(v)
    this.uvarint(len + 1)
    this.ensure(len)
    this.buf.write(v, this.pos, 'utf8')
    this.pos += len
    this.total += len
    return this
  }

  compactString(v: string): this {
    return this.compactNullableString(v)
  }

  compactNullableBytes(v: Buffer | null | undefined): this {
    if (v === null || v === undefined) return this.uvarint(0)
    this.uvarint(v.length + 1)
    return this.raw(v)
  }

  compactBytes(v: Buffer): this {
    return this.compactNullableBytes(v)
  }

  compactArray<T>(items: readonly T[], write: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1)
    for (const item of items) write(this, item)
    return this
  }

  compactNullableArray<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.uvarint(0)
    return this.compactArray(items, write)
  }

  /** An empty tagged-field section (the common case). */
  emptyTaggedFields(): this {
    return this.uvarint(0)
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

  /** Reserves `d.length` bytes that are read from `d` while the response is sent. */
  deferred(d: DeferredBytes): this {
    if (d.length === 0) return this
    this.flush()
    this.chunks.push(d)
    this.total += d.length
    return this
  }

  /** The encoded bytes as chunks (valid until the writer is used again); deferred chunks included. */
  toChunks(): Chunk[] {
    this.flush()
    return this.chunks
  }

  /** Whether some chunk is deferred (read while sending). */
  hasDeferred(): boolean {
    return this.chunks.some(isDeferredBytes)
  }

  /** All bytes in one buffer; a writer holding deferred chunks cannot be flattened synchronously. */
  toBuffer(): Buffer {
    const chunks = this.toChunks()
    if (chunks.some(isDeferredBytes))
      throw new RangeError('the writer holds deferred bytes; send it with its chunks')
    return Buffer.concat(chunks as Buffer[], this.total)
  }
}
