import { render } from 'ink-testing-library'
import { createElement } from 'react'
import { describe, expect, it } from 'vitest'
import type { StreamStatusResult } from '../../src/lib/stream/status.js'
import type { StreamProgress, StreamResult } from '../../src/lib/stream/stream.js'
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
    expect(frame).toContain('transactions 3')
    expect(frame).toContain('flush 2: 6 rows, 3 files')
    expect(frame).not.toContain('warning')
    rerender(createElement(StreamProgressView, { progress: { ...progress, warnings: ['resumed at 7'] } }))
    expect(lastFrame()).toContain('1 warning(s), last: resumed at 7')
  })
})
