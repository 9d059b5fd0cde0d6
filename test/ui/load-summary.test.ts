import { describe, expect, it } from 'vitest'
import type { CheckResult } from '../../src/lib/load/check.js'
import type { LoadProgress, LoadResult } from '../../src/lib/load/runner.js'
import {
  progressFraction,
  renderCheck,
  renderLoadProgressLine,
  renderLoadSummary,
} from '../../src/ui/load-summary.js'

const progress: LoadProgress = {
  model: 'closed',
  phase: 1,
  phases: 2,
  done: 50,
  total: 200,
  elapsedMs: 1500,
  rps: 33,
  p99: 4.5,
  errors: 2,
  late: 0,
}

const result: LoadResult = {
  url: 'http://127.0.0.1:5000',
  scenario: 'seed',
  seed: 'abc',
  runId: '1a2b3c4d',
  userAgent: 'game-load/1 (run 1a2b3c4d)',
  model: 'closed',
  interrupted: false,
  connections: 4,
  startedAt: '',
  finishedAt: '',
  durationMs: 2000,
  requests: {
    sent: 10,
    answered: 9,
    accepted: 8,
    rejected: 1,
    unanswered: 1,
    timeouts: 1,
    connectionErrors: 0,
    interrupted: 0,
    late: 0,
  },
  rps: 4.5,
  latency: {
    kind: 'service-time',
    unit: 'ms',
    count: 9,
    mean: 2,
    p50: 1.5,
    p90: 3,
    p99: 7.25,
    p999: 8,
    max: 8,
  },
  serviceTime: {
    kind: 'service-time',
    unit: 'ms',
    count: 9,
    mean: 2,
    p50: 1.5,
    p90: 3,
    p99: 7.25,
    p999: 8,
    max: 8,
  },
  distribution: [],
  timeline: [],
  statusCodes: { 200: 8, 400: 1 },
  errorRatePct: 20,
  players: [{ host: 'oski.berkeley.edu', sent: 10, accepted: 8, rejected: 1, unanswered: 1 }],
  eventTypes: [{ eventType: 'add_money', sent: 10, accepted: 8, rejected: 1, unanswered: 1 }],
  thresholds: {
    limits: { maxP99Ms: 5, minRps: 1 },
    checks: [
      { threshold: 'max-p99', limit: 5, actual: 7.25, passed: false },
      { threshold: 'min-rps', limit: 1, actual: 4.5, passed: true },
    ],
    breaches: [
      {
        threshold: 'max-p99',
        limit: 5,
        actual: 7.25,
        message: 'p99 latency 7.25 ms is above --max-p99 5 ms',
      },
    ],
    passed: false,
  },
  ledgerFile: 'run.json',
}

describe('load renderers', () => {
  it('progress line: done/total, time, req/s and p99 of the last second, errors, phase', () => {
    expect(renderLoadProgressLine(progress)).toBe(
      'load: phase 1/2 50/200 requests, 1.5s, 33 req/s, p99 4.50 ms (last 1s), 2 errors',
    )
    expect(renderLoadProgressLine({ ...progress, phases: 1, total: undefined, durationMs: 10_000 })).toBe(
      'load: 50 requests, 1.5s/10.0s, 33 req/s, p99 4.50 ms (last 1s), 2 errors',
    )
    expect(renderLoadProgressLine({ ...progress, phases: 1, model: 'open', late: 4, final: true })).toBe(
      'load: done, 50/200 requests, 1.5s, 33 req/s, p99 4.50 ms (whole run), 2 errors, 4 late',
    )
    expect(progressFraction(progress)).toBe(0.25)
    expect(progressFraction({ ...progress, total: undefined, durationMs: 3000 })).toBe(0.5)
  })

  it('summary (closed model): model named, counts, service time, status codes, per type and player, thresholds', () => {
    const text = renderLoadSummary(result)
    expect(text).toContain('Scenario seed (seed abc, run 1a2b3c4d)')
    expect(text).toContain('Closed model: 4 connections')
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100)
    expect(text.replace(/\s+/g, ' ')).toContain('coordinated omission')
    expect(text).toMatch(/\|\s+4.5 \|\s+10 \|\s+8 \|\s+1 \|\s+1 \|\s+0 \|\s+20% \|/)
    expect(text).toMatch(/\| service time\s+\|\s+1.50 \|\s+3.00 \|\s+7.25 \|\s+8.00 \|\s+8.00 \|\s+2.00 \|/)
    expect(text).not.toContain('corrected')
    expect(text).not.toMatch(/\blate\b/)
    expect(text).toContain('Status codes: 200: 8, 400: 1')
    expect(text).toContain('lost = 1 timeouts + 0 connection errors')
    expect(text).toMatch(/oski\.berkeley\.edu\s+\|\s+10/)
    expect(text).toContain('Ledger written to run.json (run 1a2b3c4d)')
    expect(text).toContain(
      'Thresholds: ✗ p99 7.25 ms <= 5 ms (--max-p99), ✓ 4.5 req/s >= 1 req/s (--min-rps)',
    )
  })

  it('summary (open model): corrected latency beside service time, late and interrupted counts', () => {
    const text = renderLoadSummary({
      ...result,
      model: 'open',
      rate: 500,
      open: {
        maxConnections: 1000,
        lateAfterMs: 10,
        peakConnections: 12,
        connectionsOpened: 12,
        peakQueue: 0,
      },
      requests: { ...result.requests, late: 3, interrupted: 2 },
      latency: { ...result.latency, kind: 'corrected', p99: 900.5, p999: 990, max: 1000 },
    })
    expect(text).toContain('Open model: 500 req/s on a fixed schedule')
    expect(text).toMatch(/\|\s+late \|/)
    expect(text).toMatch(
      /\| corrected \(from due time\)\s+\|\s+1.50 \|\s+3.00 \|\s+900.50 \|\s+990.00 \|\s+1000.00 \|/,
    )
    expect(text).toMatch(/\| service time\s+\|\s+1.50 \|/)
    expect(text).toContain('interrupted = still in flight')
    expect(text).toContain('late = sent more than 10 ms after the due time')
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100)
  })

  it('no Thresholds line when no threshold was set', () => {
    const text = renderLoadSummary({
      ...result,
      thresholds: { limits: {}, checks: [], breaches: [], passed: true },
    })
    expect(text).not.toContain('Thresholds')
  })

  it('check: shows only the differing rows on mismatch', () => {
    const check: CheckResult = {
      ok: false,
      ledgerFile: 'l.json',
      lake: 'file:///x',
      scenario: 'seed',
      problems: 1,
      totals: { sent: 3, accepted: 3, lake: 2 },
      missingFiles: ['guild_membership/dt=2026-01-01/part-x.parquet'],
      rows: [
        { host: 'a', eventType: 'add_money', sent: 2, accepted: 2, lake: 2, status: 'ok', difference: 0 },
        {
          host: 'b',
          eventType: 'join_guild',
          sent: 1,
          accepted: 1,
          lake: 0,
          status: 'missing',
          difference: -1,
        },
      ],
    }
    const text = renderCheck(check)
    expect(text).toMatch(/\| b\s+\| join_guild \|\s+1 \|\s+1 \|\s+0 \| missing \|\s+-1 \|/)
    expect(text).not.toMatch(/\| a\s+\| add_money/)
    expect(text).toContain('part-x.parquet')
    expect(text).toContain('MISMATCH: 1 of 2')
    expect(renderCheck({ ...check, ok: true, problems: 0, missingFiles: [] })).toContain(
      'OK: the lake matches',
    )
  })
})
