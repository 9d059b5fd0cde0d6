import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha1Into } from '../../../src/lib/events/sha1.js'
import { seededRandom } from '../../helpers/random.js'

const reference = (s: string) => createHash('sha1').update(s).digest('hex')
const ours = (s: string) => {
  const out = new Uint8Array(20)
  sha1Into(s, out)
  return Buffer.from(out).toString('hex')
}

describe('sha1Into', () => {
  it('matches node:crypto on every length across the block boundaries', () => {
    for (let n = 0; n <= 300; n++) {
      const s = 'abcdefghij'.repeat(31).slice(0, n)
      expect(ours(s), `length ${n}`).toBe(reference(s))
    }
  })

  it('matches node:crypto on random strings, unicode and NUL included', () => {
    const { int, pick } = seededRandom(4242)
    const alphabet = ['a', 'Z', '0', '\u0000', '-', '\u00e9', '\u65e5', '\u{1f600}', ' ', '\uffff', '\ud800']
    for (let i = 0; i < 2000; i++) {
      let s = ''
      for (let n = int(120); n > 0; n--) s += pick(alphabet)
      expect(ours(s), JSON.stringify(s)).toBe(reference(s))
    }
    // The known answer of FIPS 180-4's "abc" example.
    expect(ours('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
  })
})
