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
  phase: 1,
  phases: 2,
  done: 50,
  total: 200,
  elapsedMs: 1500,
  rps: 33,
  errors: 2,
}

const result: LoadResult = {
  url: 'http://127.0.0.1:5000',
  scenario: 'seed',
  seed: 'abc',
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
  },
  rps: 4.5,
  latency: { kind: 'service-time', unit: 'ms', count: 9, mean: 2, p50: 1.5, p90: 3, p99: 7.25, max: 8 },
  statusCodes: { 200: 8, 400: 1 },
  errorRatePct: 20,
  players: [{ host: 'oski.berkeley.edu', sent: 10, accepted: 8, rejected: 1, unanswered: 1 }],
  eventTypes: [{ eventType: 'add_money', sent: 10, accepted: 8, rejected: 1, unanswered: 1 }],
  thresholds: {
    limits: { maxP99Ms: 5 },
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
  it('progress line: done/total, time, req/s, errors, phase', () => {
    expect(renderLoadProgressLine(progress)).toBe('load: phase 1/2 50/200 requests, 1.5s, 33 req/s, 2 errors')
    expect(renderLoadProgressLine({ ...progress, phases: 1, total: undefined, durationMs: 10_000 })).toBe(
      'load: 50 requests, 1.5s/10.0s, 33 req/s, 2 errors',
    )
    expect(progressFraction(progress)).toBe(0.25)
    expect(progressFraction({ ...progress, total: undefined, durationMs: 3000 })).toBe(0.5)
  })

  it('summary: rate, latency labelled service time, status codes, per type and player, breaches', () => {
    const text = renderLoadSummary(result)
    expect(text).toContain('Scenario seed (seed abc)')
    expect(text).toMatch(/\|\s+4.5 \|\s+10 \|\s+8 \|\s+1 \|\s+1 \|\s+20% \|\s+1.5 \|\s+3 \|\s+7.25 \|\s+8 \|/)
    expect(text).toContain('service time')
    expect(text).toContain('Status codes: 200: 8, 400: 1')
    expect(text).toContain('Timeouts: 1')
    expect(text).toMatch(/oski\.berkeley\.edu\s+\|\s+10/)
    expect(text).toContain('Ledger written to run.json')
    expect(text).toContain('FAIL p99 latency 7.25 ms is above --max-p99 5 ms')
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
