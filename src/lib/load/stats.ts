import * as hdr from 'hdr-histogram-js'

/**
 * Latency of the run, every figure from one HdrHistogram (µs, 3 significant digits), rounded the same
 * way (ms with 3 decimals). Percentiles are clamped to the recorded max, so p50 <= p90 <= p99 <= p99.9
 * <= max always holds in what is printed.
 *
 * - `service-time`: from the moment a request is written to the socket to its complete response. The
 *   closed model (no --rate) only has this: a slow answer delays the next request of its connection,
 *   so queueing never shows (coordinated omission).
 * - `corrected`: the open model (--rate): from the moment the request was *due* (t0 + i/R) to its
 *   complete response, including any wait for a free connection and any lateness of the generator.
 */
export type LatencyKind = 'service-time' | 'corrected'

export interface LatencySummary {
  kind: LatencyKind
  unit: 'ms'
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** The percentiles every summary, timeline point and chart uses. */
export const PERCENTILES = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p999', 99.9],
] as const

const HIGHEST_US = 3_600_000_000

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  })
}

/** µs → ms, 3 decimals: the one rounding of every latency figure. */
export function usToMs(us: number): number {
  return Math.round(us) / 1000
}

/** The summary of a histogram: percentiles clamped to [min, max] before rounding. */
export function summarize(h: hdr.Histogram, kind: LatencyKind): LatencySummary {
  if (h.totalCount === 0)
    return { kind, unit: 'ms', count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
  const max = h.maxValue
  const min = h.minNonZeroValue
  const at = (q: number) => usToMs(Math.max(min, Math.min(max, h.getValueAtPercentile(q))))
  return {
    kind,
    unit: 'ms',
    count: h.totalCount,
    mean: usToMs(Math.min(max, h.mean)),
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: usToMs(max),
  }
}

/** Percentiles for a latency-distribution chart: 0 .. 99.999, denser towards the tail. */
export const DISTRIBUTION_PERCENTILES = [
  0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.75,
  99.9, 99.95, 99.99, 99.999, 100,
]

/**
 * Records latencies in ms into an interval histogram; snapshot() folds the interval into the run's
 * histogram (HdrHistogram's Recorder pattern: one recordValue per request) and returns the interval.
 */
export class LatencyRecorder {
  private readonly total = newHistogram()
  private readonly interval = newHistogram()

  constructor(readonly kind: LatencyKind = 'service-time') {}

  /** One latency, in milliseconds. */
  record(ms: number): void {
    this.interval.recordValue(Math.max(1, Math.min(HIGHEST_US, Math.round(ms * 1000))))
  }

  /** The interval since the last snapshot; it then counts in the run's total. */
  snapshot(): LatencySummary {
    const s = summarize(this.interval, this.kind)
    this.total.add(this.interval)
    this.interval.reset()
    return s
  }

  /** The whole run (folds in the current interval first). */
  summary(): LatencySummary {
    if (this.interval.totalCount > 0) this.snapshot()
    return summarize(this.total, this.kind)
  }

  /** [percentile, ms] of the whole run, for the distribution chart. */
  distribution(): [number, number][] {
    this.summary()
    const h = this.total
    if (h.totalCount === 0) return []
    return DISTRIBUTION_PERCENTILES.map((q) => [
      q,
      usToMs(Math.max(h.minNonZeroValue, Math.min(h.maxValue, h.getValueAtPercentile(q)))),
    ])
  }
}

/** One interval of the run (one second by default), for live progress and the HTML report. */
export interface TimelinePoint {
  /** Seconds since the run started, at the end of the interval. */
  t: number
  /** Answers in the interval (any status). */
  answered: number
  /** Answered requests per second over the interval. */
  rps: number
  /** Non-2xx answers, timeouts and connection errors in the interval. */
  errors: number
  /** Open model: requests sent later than their due time + tolerance, in the interval. */
  late: number
  /** Percentiles of the latency recorded in the interval (corrected in the open model), ms. */
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export interface Thresholds {
  /** Fail when p99 latency (ms) is above this. */
  maxP99Ms?: number
  /** Fail when the error rate (non-2xx answers, timeouts and connection errors, % of requests) is above this. */
  maxErrorRatePct?: number
  /** Fail when the request rate (answered requests per second) is below this. */
  minRps?: number
}

export interface ThresholdBreach {
  threshold: 'max-p99' | 'max-error-rate' | 'min-rps'
  limit: number
  actual: number
  message: string
}

export interface ThresholdInput {
  p99Ms: number
  errorRatePct: number
  rps: number
}

/** One threshold that was set, with its verdict (every one is listed in the summary with ✓/✗). */
export interface ThresholdCheck {
  threshold: ThresholdBreach['threshold']
  limit: number
  actual: number
  passed: boolean
}

/** Every threshold that was set, in a fixed order, passed or not. */
export function thresholdChecks(actual: ThresholdInput, limits: Thresholds): ThresholdCheck[] {
  const out: ThresholdCheck[] = []
  if (limits.maxP99Ms !== undefined)
    out.push({
      threshold: 'max-p99',
      limit: limits.maxP99Ms,
      actual: actual.p99Ms,
      passed: actual.p99Ms <= limits.maxP99Ms,
    })
  if (limits.maxErrorRatePct !== undefined)
    out.push({
      threshold: 'max-error-rate',
      limit: limits.maxErrorRatePct,
      actual: actual.errorRatePct,
      passed: actual.errorRatePct <= limits.maxErrorRatePct,
    })
  if (limits.minRps !== undefined)
    out.push({
      threshold: 'min-rps',
      limit: limits.minRps,
      actual: actual.rps,
      passed: actual.rps >= limits.minRps,
    })
  return out
}

/** The thresholds a run breached (empty: all passed). */
export function evaluateThresholds(actual: ThresholdInput, limits: Thresholds): ThresholdBreach[] {
  const out: ThresholdBreach[] = []
  if (limits.maxP99Ms !== undefined && actual.p99Ms > limits.maxP99Ms) {
    out.push({
      threshold: 'max-p99',
      limit: limits.maxP99Ms,
      actual: actual.p99Ms,
      message: `p99 latency ${actual.p99Ms.toFixed(2)} ms is above --max-p99 ${limits.maxP99Ms} ms`,
    })
  }
  if (limits.maxErrorRatePct !== undefined && actual.errorRatePct > limits.maxErrorRatePct) {
    out.push({
      threshold: 'max-error-rate',
      limit: limits.maxErrorRatePct,
      actual: actual.errorRatePct,
      message: `error rate ${actual.errorRatePct}% is above --max-error-rate ${limits.maxErrorRatePct}%`,
    })
  }
  if (limits.minRps !== undefined && actual.rps < limits.minRps) {
    out.push({
      threshold: 'min-rps',
      limit: limits.minRps,
      actual: actual.rps,
      message: `throughput ${actual.rps} req/s is below --min-rps ${limits.minRps} req/s`,
    })
  }
  return out
}

/** Errors as a percentage of sent requests, two decimals. */
export function errorRatePct(sent: number, failed: number): number {
  return sent === 0 ? 0 : Math.round((failed / sent) * 10_000) / 100
}
