import * as hdr from 'hdr-histogram-js'

/**
 * Latency of the run. Measured from the moment a request is written to the socket to its complete
 * response: service time. Under overload a closed loop (and autocannon's rate limiter, which sends
 * each second's requests in a burst) hides queueing delay (coordinated omission); this is not
 * corrected, and autocannon's own "correction" is not used (it applies a wrong interval).
 */
export interface LatencySummary {
  kind: 'service-time'
  unit: 'ms'
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** Records latencies in microseconds (1 µs .. 1 h, 3 significant digits). */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  })

  /** One latency, in milliseconds. */
  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.min(3_600_000_000, Math.round(ms * 1000))))
  }

  summary(): LatencySummary {
    const h = this.histogram
    const ms = (us: number) => Math.round(us) / 1000
    if (h.totalCount === 0)
      return { kind: 'service-time', unit: 'ms', count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }
    return {
      kind: 'service-time',
      unit: 'ms',
      count: h.totalCount,
      mean: ms(h.mean),
      p50: ms(h.getValueAtPercentile(50)),
      p90: ms(h.getValueAtPercentile(90)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(h.maxValue),
    }
  }
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

/** The thresholds a run breached (empty: all passed). */
export function evaluateThresholds(actual: ThresholdInput, limits: Thresholds): ThresholdBreach[] {
  const out: ThresholdBreach[] = []
  if (limits.maxP99Ms !== undefined && actual.p99Ms > limits.maxP99Ms) {
    out.push({
      threshold: 'max-p99',
      limit: limits.maxP99Ms,
      actual: actual.p99Ms,
      message: `p99 latency ${actual.p99Ms} ms is above --max-p99 ${limits.maxP99Ms} ms`,
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
