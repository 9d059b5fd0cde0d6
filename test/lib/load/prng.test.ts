import { describe, expect, it } from 'vitest'
import { createRng, stableIndex } from '../../../src/lib/load/prng.js'

describe('createRng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = createRng('42')
    const b = createRng(42)
    const c = createRng('43')
    const seqA = Array.from({ length: 20 }, () => a.next())
    const seqB = Array.from({ length: 20 }, () => b.next())
    const seqC = Array.from({ length: 20 }, () => c.next())
    expect(seqA).toEqual(seqB)
    expect(seqA).not.toEqual(seqC)
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true)
  })

  it('int stays within bounds and reaches both ends', () => {
    const rng = createRng('bounds')
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const n = rng.int(1, 5)
      expect(n).toBeGreaterThanOrEqual(1)
      expect(n).toBeLessThanOrEqual(5)
      seen.add(n)
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5])
  })

  it('weighted follows the weights roughly and never picks a zero weight', () => {
    const rng = createRng('w')
    const counts = [0, 0, 0]
    for (let i = 0; i < 10_000; i++) counts[rng.weighted([3, 0, 1])]++
    expect(counts[1]).toBe(0)
    expect(counts[0] / counts[2]).toBeGreaterThan(2.5)
    expect(counts[0] / counts[2]).toBeLessThan(3.5)
  })

  it('shuffle is a permutation and reproducible', () => {
    const items = Array.from({ length: 50 }, (_, i) => i)
    const s1 = createRng('s').shuffle(items)
    const s2 = createRng('s').shuffle(items)
    expect(s1).toEqual(s2)
    expect(s1).not.toEqual(items)
    expect([...s1].sort((x, y) => x - y)).toEqual(items)
  })

  it('stableIndex depends on seed and key only', () => {
    expect(stableIndex('x', 'alice', 5)).toBe(stableIndex('x', 'alice', 5))
    const spread = new Set(Array.from({ length: 50 }, (_, i) => stableIndex('x', `p${i}`, 5)))
    expect(spread.size).toBe(5)
  })
})
