import { describe, expect, it } from 'vitest'
import {
  errorRatePct,
  evaluateThresholds,
  LatencyRecorder,
  thresholdChecks,
} from '../../../src/lib/load/stats.js'

describe('LatencyRecorder', () => {
  it('reports percentiles of what it recorded, in ms', () => {
    const r = new LatencyRecorder()
    for (let i = 1; i <= 1000; i++) r.record(i / 10) // 0.1 .. 100 ms
    const s = r.summary()
    expect(s.kind).toBe('service-time')
    expect(s.count).toBe(1000)
    expect(s.p50).toBeCloseTo(50, 0)
    expect(s.p90).toBeCloseTo(90, 0)
    expect(s.p99).toBeCloseTo(99, 0)
    expect(s.p999).toBeCloseTo(99.9, 0)
    expect(s.max).toBeCloseTo(100, 0)
    expect(s.mean).toBeCloseTo(50.05, 0)
  })

  it('every figure from one histogram: p50 <= p90 <= p99 <= p99.9 <= max, whatever was recorded', () => {
    // values at bucket edges used to print p99 above max (16.007 | 16.004)
    for (const values of [[16.004], [16.004, 16.001, 15.999], [1, 1000, 3600_000], [0.0004, 0.2, 7.77777]]) {
      const r = new LatencyRecorder()
      for (const v of values) r.record(v)
      const s = r.summary()
      expect(s.p50).toBeLessThanOrEqual(s.p90)
      expect(s.p90).toBeLessThanOrEqual(s.p99)
      expect(s.p99).toBeLessThanOrEqual(s.p999)
      expect(s.p999).toBeLessThanOrEqual(s.max)
      expect(s.max).toBe(Math.round(Math.max(...values.map((v) => Math.max(1, Math.round(v * 1000))))) / 1000)
    }
  })

  it('snapshot(): the interval since the last one, folded into the run', () => {
    const r = new LatencyRecorder('corrected')
    for (let i = 0; i < 100; i++) r.record(1)
    const a = r.snapshot()
    for (let i = 0; i < 100; i++) r.record(100)
    const b = r.snapshot()
    expect(a).toMatchObject({ kind: 'corrected', count: 100, p99: 1, max: 1 })
    expect(b).toMatchObject({ count: 100, p50: 100, max: 100 })
    const s = r.summary()
    expect(s.count).toBe(200)
    expect(s.p50).toBe(1)
    expect(s.p99).toBeCloseTo(100, 0)
    expect(r.distribution().at(-1)).toEqual([100, 100])
  })

  it('is all zeros when nothing was recorded', () => {
    expect(new LatencyRecorder().summary()).toMatchObject({ count: 0, p99: 0, max: 0 })
  })
})

describe('evaluateThresholds', () => {
  const actual = { p99Ms: 20, errorRatePct: 1.5, rps: 900 }

  it('passes when within every limit, or with no limits', () => {
    expect(evaluateThresholds(actual, {})).toEqual([])
    expect(evaluateThresholds(actual, { maxP99Ms: 20, maxErrorRatePct: 1.5, minRps: 900 })).toEqual([])
  })

  it('names each breached threshold', () => {
    const b = evaluateThresholds(actual, { maxP99Ms: 19.9, maxErrorRatePct: 1, minRps: 1000 })
    expect(b.map((x) => x.threshold)).toEqual(['max-p99', 'max-error-rate', 'min-rps'])
    expect(b[0]).toMatchObject({ limit: 19.9, actual: 20 })
    expect(b[0].message).toBe('p99 latency 20.00 ms is above --max-p99 19.9 ms')
    expect(b[2].message).toContain('below --min-rps 1000')
  })

  it('only the breached one', () => {
    expect(evaluateThresholds(actual, { maxP99Ms: 100, minRps: 901 }).map((x) => x.threshold)).toEqual([
      'min-rps',
    ])
  })
})

describe('thresholdChecks', () => {
  it('lists every threshold set, with its verdict; none when none is set', () => {
    expect(thresholdChecks({ p99Ms: 20, errorRatePct: 1.5, rps: 900 }, {})).toEqual([])
    expect(
      thresholdChecks({ p99Ms: 20, errorRatePct: 1.5, rps: 900 }, { maxP99Ms: 10, minRps: 900 }),
    ).toEqual([
      { threshold: 'max-p99', limit: 10, actual: 20, passed: false },
      { threshold: 'min-rps', limit: 900, actual: 900, passed: true },
    ])
  })
})

describe('errorRatePct', () => {
  it('is a percentage with two decimals', () => {
    expect(errorRatePct(0, 0)).toBe(0)
    expect(errorRatePct(3, 1)).toBe(33.33)
    expect(errorRatePct(200, 200)).toBe(100)
  })
})
