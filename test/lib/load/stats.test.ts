import { describe, expect, it } from 'vitest'
import { errorRatePct, evaluateThresholds, LatencyRecorder } from '../../../src/lib/load/stats.js'

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
    expect(s.max).toBeCloseTo(100, 0)
    expect(s.mean).toBeCloseTo(50.05, 0)
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
    expect(b[0].message).toContain('--max-p99')
    expect(b[2].message).toContain('below --min-rps 1000')
  })

  it('only the breached one', () => {
    expect(evaluateThresholds(actual, { maxP99Ms: 100, minRps: 901 }).map((x) => x.threshold)).toEqual([
      'min-rps',
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
