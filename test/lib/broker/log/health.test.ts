import { describe, expect, it, vi } from 'vitest'
import { type StorageEvent, StorageHealthTracker } from '../../../../src/lib/broker/log/health.js'
import { storageEventLine } from '../../../../src/lib/broker/server.js'

describe('storage health', () => {
  it('one failed and one recovered event per episode, however many writers fail', () => {
    const events: StorageEvent[] = []
    let now = 1000
    const h = new StorageHealthTracker(
      (e) => events.push(e),
      () => now,
    )
    expect(h.report()).toEqual({ ok: true, failing: [], refused: 0 })
    h.refused() // nothing failing: not counted
    h.failed('t-0', 'append to t-0 failed: ENOSPC')
    h.failed('t-1', 'append to t-1 failed: ENOSPC')
    h.failed('t-0', 'again')
    h.refused(3)
    expect(h.report()).toEqual({
      ok: false,
      since: 1000,
      error: 'append to t-0 failed: ENOSPC',
      failing: ['t-0', 't-1'],
      refused: 3,
    })
    now = 3500
    h.wrote('t-0')
    h.wrote('other')
    expect(events).toHaveLength(1)
    h.wrote('t-1')
    expect(events).toEqual([
      { kind: 'failed', error: 'append to t-0 failed: ENOSPC', where: 't-0' },
      { kind: 'recovered', downMs: 2500, refused: 3 },
    ])
    expect(h.report().ok).toBe(true)
    // A new episode starts afresh.
    h.failed('__groups', 'x')
    expect(h.report()).toMatchObject({ since: 3500, refused: 0, failing: ['__groups'] })
    expect(events).toHaveLength(3)
  })

  it('an episode ends only after writes worked for settleMs: failing again before is the same episode', () => {
    vi.useFakeTimers()
    try {
      const events: StorageEvent[] = []
      const h = new StorageHealthTracker((e) => events.push(e), Date.now, 5000)
      h.failed('t-0', 'ENOSPC big batch', true)
      // A small commit fits, the next big batch does not, again and again: one episode.
      for (let i = 0; i < 5; i++) {
        h.wrote('__groups')
        expect(h.report().ok).toBe(true)
        vi.advanceTimersByTime(1000)
        h.failed('t-0', 'ENOSPC big batch', true)
        h.refused()
        expect(h.report().ok).toBe(false)
      }
      expect(events.map((e) => e.kind)).toEqual(['failed'])
      h.wrote('t-0')
      vi.advanceTimersByTime(4999)
      expect(events).toHaveLength(1)
      vi.advanceTimersByTime(1)
      expect(events.map((e) => e.kind)).toEqual(['failed', 'recovered'])
      expect(events[1]).toMatchObject({ refused: 5, downMs: 5000 })
      // close() ends a settling episode at once.
      h.failed('x', 'ENOSPC', true)
      h.wrote('x')
      h.close()
      expect(events.map((e) => e.kind)).toEqual(['failed', 'recovered', 'failed', 'recovered'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('a transient failure (nothing to retry) ends with the next successful write anywhere', () => {
    const events: StorageEvent[] = []
    const h = new StorageHealthTracker((e) => events.push(e))
    h.failed('topics.json', 'cannot write topics.json', true)
    h.wrote('t-0')
    expect(h.report().ok).toBe(true)
    expect(events.map((e) => e.kind)).toEqual(['failed', 'recovered'])
  })

  it('log lines say what fails, what clients get, and what to do', () => {
    expect(
      storageEventLine('/d/kafka', { kind: 'failed', error: 'append to t-0 failed: ENOSPC', where: 't-0' }),
    ).toEqual([
      'error',
      'storage failure: append to t-0 failed: ENOSPC. Produce requests get KAFKA_STORAGE_ERROR until a write to /d/kafka succeeds again (retried on each produce); free space there (`df -h`) and writing resumes by itself',
    ])
    expect(storageEventLine('/d', { kind: 'recovered', downMs: 12_345, refused: 7 })).toEqual([
      'info',
      'storage writable again after 12.3 s; 7 write(s) were refused meanwhile',
    ])
  })
})
