import { describe, expect, it } from 'vitest'
import type { LoadResult } from '../../src/lib/load/runner.js'
import type { TimelinePoint } from '../../src/lib/load/stats.js'
import { downsampleTimeline, MAX_PLAYERS, MAX_POINTS, renderLoadReport } from '../../src/ui/load-report.js'

const point = (t: number, p99: number): TimelinePoint => ({
  t,
  answered: 100,
  rps: 100,
  errors: 1,
  late: 0,
  p50: 1,
  p90: 2,
  p99,
  p999: p99,
  max: p99,
})

const summary = {
  kind: 'corrected',
  unit: 'ms',
  count: 1,
  mean: 1,
  p50: 1,
  p90: 1,
  p99: 1,
  p999: 1,
  max: 1,
} as const

function result(over: Partial<LoadResult> = {}): LoadResult {
  return {
    url: 'http://127.0.0.1:5000',
    scenario: 'mixed',
    seed: '1',
    runId: 'abcd1234',
    userAgent: 'game-load/1 (run abcd1234)',
    model: 'open',
    connections: 10,
    rate: 100,
    interrupted: false,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    requests: {
      sent: 1,
      answered: 1,
      accepted: 1,
      rejected: 0,
      unanswered: 0,
      timeouts: 0,
      connectionErrors: 0,
      interrupted: 0,
      late: 0,
    },
    rps: 1,
    latency: summary,
    serviceTime: { ...summary, kind: 'service-time' },
    distribution: [[50, 1, 1]],
    timeline: [point(1, 1)],
    statusCodes: { 200: 1 },
    errorRatePct: 0,
    players: [{ host: '<script>alert(1)</script>', sent: 1, accepted: 1, rejected: 0, unanswered: 0 }],
    eventTypes: [{ eventType: 'add_money', sent: 1, accepted: 1, rejected: 0, unanswered: 0 }],
    thresholds: { limits: {}, checks: [], breaches: [], passed: true },
    ...over,
  }
}

const lib = { js: 'window.uPlot = function () {}', css: '.u{}' }

describe('renderLoadReport', () => {
  it('inlines the library and data; escapes names; no external resources', () => {
    const html = renderLoadReport(result(), lib)
    expect(html).toContain('window.uPlot = function () {}')
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;')
    expect(html).not.toContain('<script>alert(1)')
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/)
    expect(html).toContain('Open model: 100 req/s')
  })

  it('a long run and many players stay well under 1 MB', () => {
    const timeline = Array.from({ length: 3 * 3600 }, (_, i) => point(i + 1, i % 100))
    const players = Array.from({ length: 20_000 }, (_, i) => ({
      host: `player-${i}.example.com`,
      sent: i,
      accepted: i,
      rejected: 0,
      unanswered: 0,
    }))
    const html = renderLoadReport(result({ timeline, players }), { js: 'x'.repeat(52_000), css: '' })
    expect(html.length).toBeLessThan(1024 * 1024)
    expect(html).toContain(`The ${MAX_PLAYERS} busiest of 20000 players`)
    expect(html).toContain('player-19999.example.com')
    expect(html).not.toContain('player-0.example.com<')
  })
})

describe('downsampleTimeline', () => {
  it('merges adjacent points: sums counts, keeps the worst percentile', () => {
    const points = Array.from({ length: 2 * MAX_POINTS + 1 }, (_, i) => point(i + 1, i))
    const out = downsampleTimeline(points)
    expect(out.length).toBeLessThanOrEqual(MAX_POINTS)
    expect(out[0]).toMatchObject({ t: 3, answered: 300, errors: 3, p99: 2, max: 2 })
    expect(out.reduce((a, p) => a + p.answered, 0)).toBe(points.length * 100)
    expect(downsampleTimeline(points.slice(0, 10))).toHaveLength(10)
  })
})
