import { describe, expect, it } from 'vitest'
import { ApiMetrics, escapeLabel, Histogram } from '../../../src/lib/api/metrics.js'

describe('Histogram', () => {
  it('counts each value in the first bucket that holds it', () => {
    const h = new Histogram([1, 5, 10])
    for (const v of [0.5, 1, 3, 7, 100]) h.observe(v)
    expect(h.counts).toEqual([2, 1, 1])
    expect(h.count).toBe(5)
    expect(h.sum).toBeCloseTo(111.5)
  })
})

describe('ApiMetrics.render', () => {
  it('renders counters with labels and cumulative histogram buckets', () => {
    const m = new ApiMetrics()
    m.request('/add_money', 'GET', 200)
    m.request('/add_money', 'GET', 200)
    m.request('unknown', 'GET', 404)
    m.rejection('not_found')
    m.produced.inc({ event_type: 'add_money' }, 2)
    m.batchSize.observe(1)
    m.batchSize.observe(30)
    m.produceLatency.observe(0.002)
    const text = m.render()
    expect(text).toContain('# TYPE game_api_requests_total counter')
    expect(text).toContain('game_api_requests_total{route="/add_money",method="GET",status="200"} 2')
    expect(text).toContain('game_api_rejections_total{reason="not_found"} 1')
    expect(text).toContain('game_api_events_produced_total{event_type="add_money"} 2')
    expect(text).toContain('game_api_produce_batch_size_bucket{le="1"} 1')
    expect(text).toContain('game_api_produce_batch_size_bucket{le="20"} 1')
    expect(text).toContain('game_api_produce_batch_size_bucket{le="50"} 2')
    expect(text).toContain('game_api_produce_batch_size_bucket{le="+Inf"} 2')
    expect(text).toContain('game_api_produce_latency_seconds_bucket{le="0.0025"} 1')
    expect(text).toContain('game_api_produce_latency_seconds_count 1')
    expect(text.endsWith('\n')).toBe(true)
    expect(m.rejectionCount('not_found')).toBe(1)
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$|^[a-z_]+(\{[^}]*\})? \+Inf$/)
    }
  })
  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
  })
})
