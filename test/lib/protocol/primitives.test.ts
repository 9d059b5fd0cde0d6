import { describe, expect, it } from 'vitest'
import { ProtocolDecodeError, Reader, Writer } from '../../../src/lib/protocol/primitives.js'

describe('protocol codec', () => {
  it('round-trips every primitive', () => {
    const big = Buffer.alloc(5000, 7)
    const w = new Writer(8)
      .int8(-3)
      .bool(true)
      .int16(-2)
      .int32(123456789)
      .int64(-9007199254740993n)
      .string('héllo')
      .nullableString(null)
      .bytes(Buffer.from([1, 2, 3]))
      .nullableBytes(null)
      .bytes(big)
      .array([1, 2, 3], (w, n) => w.int32(n))
      .nullableArray(null, (w, n: number) => w.int32(n))
    const buf = w.toBuffer()
    expect(buf.length).toBe(w.length)
    const r = new Reader(buf)
    expect(r.int8()).toBe(-3)
    expect(r.bool()).toBe(true)
    expect(r.int16()).toBe(-2)
    expect(r.int32()).toBe(123456789)
    expect(r.int64()).toBe(-9007199254740993n)
    expect(r.string()).toBe('héllo')
    expect(r.nullableString()).toBeNull()
    expect([...r.bytes()]).toEqual([1, 2, 3])
    expect(r.nullableBytes()).toBeNull()
    expect(r.bytes().equals(big)).toBe(true)
    expect(r.array((r) => r.int32())).toEqual([1, 2, 3])
    expect(r.nullableArray((r) => r.int32())).toBeNull()
    expect(r.remaining()).toBe(0)
  })

  it('references large byte fields instead of copying them', () => {
    const big = Buffer.alloc(4096, 1)
    const chunks = new Writer().int32(1).bytes(big).int32(2).toChunks()
    expect(chunks.some((c) => c === big)).toBe(true)
    expect(Buffer.concat(chunks as Buffer[]).length).toBe(4 + 4 + 4096 + 4)
  })

  it('throws ProtocolDecodeError on truncation, negative lengths and absurd counts', () => {
    expect(() => new Reader(Buffer.from([0, 1])).int32()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(Buffer.from([0, 5, 0x61])).string()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(Buffer.from([0xff, 0xfe])).nullableString()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xfe])).nullableBytes()).toThrow(
      ProtocolDecodeError,
    )
    expect(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0])).array((r) => r.int8())).toThrow(
      ProtocolDecodeError,
    )
    expect(() => new Reader(Buffer.from([0xff, 0xff])).string()).toThrow(ProtocolDecodeError)
  })
})
