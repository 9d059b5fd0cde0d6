import { describe, expect, it } from 'vitest'
import { parseBytes, parseDuration } from '../../../src/lib/stream/units.js'

describe('parseDuration', () => {
  it('reads ms, s (default), m, h', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('30')).toBe(30_000)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1h')).toBe(3_600_000)
  })
  it('refuses junk and zero', () => {
    expect(parseDuration('soon')).toBeUndefined()
    expect(parseDuration('0s')).toBeUndefined()
    expect(parseDuration('-1s')).toBeUndefined()
  })
})

describe('parseBytes', () => {
  it('reads bytes and binary multiples', () => {
    expect(parseBytes('1000')).toBe(1000)
    expect(parseBytes('64MB')).toBe(64 * 1024 * 1024)
    expect(parseBytes('512kib')).toBe(512 * 1024)
    expect(parseBytes('1g')).toBe(1024 ** 3)
  })
  it('refuses junk and zero', () => {
    expect(parseBytes('lots')).toBeUndefined()
    expect(parseBytes('0')).toBeUndefined()
  })
})
