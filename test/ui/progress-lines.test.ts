import { describe, expect, it } from 'vitest'
import { changedLines } from '../../src/ui/progress-lines.js'

describe('changedLines', () => {
  it('prints a line when it changes, and the same line again only as a heartbeat', () => {
    let t = 0
    const next = changedLines(60_000, () => t)
    expect(next('a')).toBe('a')
    t = 1000
    expect(next('a')).toBeUndefined()
    t = 2000
    expect(next('b')).toBe('b')
    for (t = 3000; t < 62_000; t += 1000) expect(next('b')).toBeUndefined()
    t = 62_000
    expect(next('b')).toBe('b')
    expect(next('a')).toBe('a')
  })
})
