import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'

const require = createRequire(import.meta.url)
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    expect(crc32c(Buffer.alloc(0))).toBe(0)
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43)
  })

  it('agrees with kafkajs on every length around the 8-byte stride', () => {
    for (let n = 0; n < 70; n++) {
      const b = Buffer.alloc(n)
      for (let i = 0; i < n; i++) b[i] = (i * 131 + n * 7) & 0xff
      expect(crc32c(b)).toBe(kafkajsCrc(b))
    }
  })

  it('checksums a sub-range and continues a running checksum', () => {
    const b = Buffer.from('xxhello, castagnoli!yy')
    expect(crc32c(b, 2, b.length - 2)).toBe(crc32c(Buffer.from('hello, castagnoli!')))
    const whole = crc32c(b)
    expect(crc32c(b, 9, b.length, crc32c(b, 0, 9))).toBe(whole)
  })
})
