import { describe, expect, it } from 'vitest'
import { caughtUp, OffsetTracker } from '../../../src/lib/stream/offsets.js'

describe('OffsetTracker', () => {
  it('skips offsets below what the lake committed and what was accepted', () => {
    const t = new OffsetTracker()
    t.setCommitted(0, 10n)
    expect(t.accept(0, 9n)).toBe(false)
    expect(t.accept(0, 10n)).toBe(true)
    expect(t.accept(0, 10n)).toBe(false)
    expect(t.accept(0, 11n)).toBe(true)
    expect(t.accept(1, 0n)).toBe(true)
    expect(t.pending()).toEqual({ '0': '12', '1': '1' })
  })

  it('marks published offsets and forgets unpublished progress of a revoked partition', () => {
    const t = new OffsetTracker()
    t.setCommitted(0, 5n)
    t.accept(0, 5n)
    t.accept(0, 6n)
    t.markCommitted({ '0': '7' })
    expect(t.pending()).toEqual({})
    t.accept(0, 7n)
    t.reset(0)
    expect(t.nextOffset(0)).toBe(7n)
    expect(t.accept(0, 7n)).toBe(true)
    t.accept(3, 0n)
    t.reset(3)
    expect(t.nextOffset(3)).toBeUndefined()
    expect(t.committedOffsets()).toEqual({ '0': '7' })
  })

  it('computes lag from high watermarks', () => {
    const t = new OffsetTracker()
    t.setHighWatermark(0, 100n)
    t.setHighWatermark(1, 3n)
    t.accept(0, 39n)
    t.setCommitted(1, 5n)
    expect(t.lag()).toEqual({ '0': 60, '1': 0 })
  })
})

describe('caughtUp', () => {
  const targets = new Map([
    [0, 10n],
    [1, 0n],
  ])
  it('is true when every assigned partition reached its end offset', () => {
    const next = new Map([[0, 10n]])
    expect(
      caughtUp(
        [0, 1],
        targets,
        (p) => next.get(p),
        () => 0n,
      ),
    ).toBe(true)
  })
  it('is false while a partition is behind, and uses the start offset when nothing was consumed', () => {
    expect(
      caughtUp(
        [0],
        targets,
        () => 9n,
        () => 0n,
      ),
    ).toBe(false)
    expect(
      caughtUp(
        [0],
        targets,
        () => undefined,
        () => 0n,
      ),
    ).toBe(false)
    expect(
      caughtUp(
        [0],
        targets,
        () => undefined,
        () => 10n,
      ),
    ).toBe(true)
    expect(
      caughtUp(
        [5],
        targets,
        () => undefined,
        () => 0n,
      ),
    ).toBe(true)
  })
})
