import { describe, expect, it } from 'vitest'
import { flushReason } from '../../../src/lib/stream/triggers.js'

const limits = { intervalMs: 1000, maxRows: 100, maxBytes: 1000 }
const state = { rows: 0, bytes: 0, pendingOffsets: false, lastFlushAt: 0 }

describe('flushReason', () => {
  it('flushes at max rows or max bytes, whichever first', () => {
    expect(flushReason({ ...state, rows: 100, bytes: 10 }, limits, 1)).toBe('max-rows')
    expect(flushReason({ ...state, rows: 5, bytes: 1000 }, limits, 1)).toBe('max-bytes')
    expect(flushReason({ ...state, rows: 99, bytes: 999 }, limits, 1)).toBeUndefined()
  })
  it('flushes on the interval when anything is pending, also with no new events', () => {
    expect(flushReason({ ...state, rows: 1 }, limits, 999)).toBeUndefined()
    expect(flushReason({ ...state, rows: 1 }, limits, 1000)).toBe('interval')
    expect(flushReason({ ...state, pendingOffsets: true }, limits, 1000)).toBe('interval')
    expect(flushReason(state, limits, 50_000)).toBeUndefined()
  })
})
