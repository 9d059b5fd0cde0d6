import { Box } from 'ink'
import { render } from 'ink-testing-library'
import { createElement } from 'react'
import { describe, expect, it } from 'vitest'
import type { StreamStatusResult } from '../../src/lib/stream/status.js'
import type { StreamProgress, StreamResult } from '../../src/lib/stream/stream.js'
import { perSecond } from '../../src/lib/stream/units.js'
import { StreamProgressView } from '../../src/ui/stream-progress.js'
import { renderStreamResult, renderStreamStatus, streamProgressLine } from '../../src/ui/stream-summary.js'

const rows = {
  purchases: 2,
  add_money: 1,
  transactions: 3,
  guild_membership: 0,
  cancel_membership: 0,
  messages: 0,
  rejected: 1,
}
const progress: StreamProgress = {
  phase: 'consuming',
  events: 120,
  eventsPerSec: 40,
  rejected: 1,
  undecodable: 0,
  rows,
  buffered: 7,
  lag: { '0': 5, '1': 2 },
  assigned: [0, 1],
  flushes: 2,
  lastFlush: {
    commitId: 'c',
    at: '2026-11-28T12:00:00.000Z',
    reason: 'interval',
    rows: 6,
    files: 3,
    bytes: 900,
    durationMs: 42,
    writeMs: 30,
    publishMs: 12,
  },
  warnings: [],
}

describe('stream renderers', () => {
  it('progress line: events, rate, lag total, partitions, last flush', () => {
    const line = streamProgressLine(progress)
    expect(line).toContain('120 events (40/s)')
    expect(line).toContain('lag 7')
    expect(line).toContain('partitions [0,1]')
    expect(line).toContain('last flush 6 rows/3 files in 42ms (interval)')
    expect(line).not.toContain('warning')
    const warned = streamProgressLine({ ...progress, warnings: ['first', 'Partition 0: resumed at 7'] })
    expect(warned).toContain('2 warning(s), last: Partition 0: resumed at 7')
  })

  it('result: rows per table and offsets', () => {
    const result: StreamResult = {
      topic: 't',
      group: 'g',
      events: 120,
      rows,
      rejected: 1,
      undecodable: 0,
      flushes: 2,
      offsets: { '0': '60', '1': '60' },
      durationMs: 1500,
      commits: ['a', 'b'],
      recovered: { rolledForward: ['x'], rolledBack: [] },
      stoppedBy: 'caught-up',
      warnings: ['w1'],
    }
    const text = renderStreamResult(result)
    expect(text).toMatch(/transactions\s*\|\s*3/)
    expect(text).toContain('offsets (next per partition): 0:60 1:60')
    expect(text).toContain('1 commit(s) rolled forward')
    expect(text).toContain('warning: w1')
  })

  it('status: partitions and tables', () => {
    const status: StreamStatusResult = {
      topic: 't',
      group: 'g',
      lake: 'file:///l',
      partitions: [{ partition: 0, lakeOffset: '10', groupOffset: '8', endOffset: '12', lag: 2 }],
      tables: [
        { table: 'purchases', files: 2, rows: 10, bytes: 2048, lastCommitAt: '2026-11-28T12:00:00.000Z' },
      ],
      commits: 2,
      lastCommit: { commitId: 'c2', seq: 2, createdAt: '2026-11-28T12:00:00.000Z' },
      staging: 0,
      undecodable: { batches: 2, lastReason: 'undecodable record batch: t-0 offsets 0-1: CRC-32C mismatch' },
      kafkaError: 'Kafka at x did not answer',
    }
    const text = renderStreamStatus(status)
    expect(text).toContain(
      '2 undecodable batch(es) in rejected, last: undecodable record batch: t-0 offsets 0-1: CRC-32C mismatch',
    )
    expect(renderStreamStatus({ ...status, undecodable: { batches: 0, lastReason: null } })).not.toContain(
      'undecodable',
    )
    expect(text).toMatch(/\|\s*0\s*\|\s*10\s*\|\s*8\s*\|\s*12\s*\|\s*2\s*\|/)
    expect(text).toMatch(/purchases\s*\|\s*2\s*\|\s*10\s*\|\s*2\.0 KiB/)
    expect(text).toContain('2 commit(s), last c2')
    expect(text).toContain('warning: Kafka at x did not answer')
  })

  it('ink view shows lag and rows per table', () => {
    const { lastFrame, rerender } = render(createElement(StreamProgressView, {}))
    expect(lastFrame()).toContain('recovering')
    rerender(createElement(StreamProgressView, { progress }))
    const frame = lastFrame() ?? ''
    expect(frame).toContain('lag 7')
    expect(frame).toMatch(/transactions +3/)
    expect(frame).toContain('flush 2: 6 rows, 3 files')
    expect(frame).not.toContain('warning')
    rerender(createElement(StreamProgressView, { progress: { ...progress, warnings: ['resumed at 7'] } }))
    expect(lastFrame()).toContain('1 warning(s), last: resumed at 7')
  })

  it('ink view fits 80 columns: big counts, 64 partitions, long warnings', () => {
    const big = Object.fromEntries(Object.keys(rows).map((t, i) => [t, 12_345_678 - i])) as typeof rows
    const busy: StreamProgress = {
      ...progress,
      phase: 'consuming',
      events: 123_456_789,
      eventsPerSec: 104_167,
      rejected: 1_234_567,
      buffered: 250_000,
      lag: { '0': 9_999_999 },
      assigned: Array.from({ length: 64 }, (_, i) => i),
      rows: big,
      flushes: 12_345,
      lastFlush: {
        ...(progress.lastFlush as NonNullable<StreamProgress['lastFlush']>),
        rows: 250_000,
        files: 12,
        durationMs: 12_345,
        reason: 'max-bytes',
      },
      undecodable: 3,
      lastUndecodable: `game_events/7 offsets 123456789-123456999: ${'CRC-32C mismatch '.repeat(8)}`,
      warnings: [`Partition 5: ${'rows below offset 9 were published by another writer; '.repeat(4)}`],
    }
    const { lastFrame } = render(
      createElement(Box, { width: 80 }, createElement(StreamProgressView, { progress: busy })),
    )
    const lines = (lastFrame() ?? '').split('\n')
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80)
    // Nothing wrapped: the first line holds the figures, each table its count, 9 lines in all.
    expect(lines[0]).toMatch(/^consuming 123456789 events 104167\/s lag 9999999 1234567 rejected$/)
    expect(lines[1]).toBe('250000 buffered, 64 partitions')
    for (const [table, n] of Object.entries(big)) expect(lastFrame()).toMatch(new RegExp(`${table} +${n}`))
    expect(lines).toHaveLength(1 + 1 + 3 + 1 + 1 + 1)
    expect(lines[5]).toBe('flush 12345: 250000 rows, 12 files in 12345ms (max-bytes) at 12:00:00')
  })

  it('rates are events per second of the run', () => {
    // The figures: 1M events in 9.6 s (the summary said 23347/s), 54k in 5.7 s (live: 2629/s).
    expect(perSecond(1_000_000, 9_600)).toBe(104_167)
    expect(perSecond(54_000, 5_700)).toBe(9_474)
    expect(perSecond(5, 0)).toBe(0)
    const result: StreamResult = {
      topic: 't',
      group: 'g',
      events: 1_000_000,
      rows,
      rejected: 143_000,
      undecodable: 0,
      flushes: 5,
      offsets: {},
      durationMs: 9_600,
      commits: [],
      recovered: { rolledForward: [], rolledBack: [] },
      stoppedBy: 'caught-up',
      warnings: [],
    }
    expect(renderStreamResult(result)).toContain(
      '1000000 events in 9.6s (104167/s), 143000 rejected, 5 flushes',
    )
  })
})
