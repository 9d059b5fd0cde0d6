/**
 * The API's metrics, rendered in the Prometheus text exposition format (version 0.0.4). Counters
 * are keyed by their label values; histograms have fixed buckets. Pure bookkeeping, no I/O.
 */

export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const
export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const

export class Histogram {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0)
  }

  observe(value: number): void {
    this.sum += value
    this.count++
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        this.counts[i]++
        return
      }
    }
  }
}

export class LabeledCounter {
  private readonly values = new Map<string, { labels: Record<string, string>; value: number }>()

  inc(labels: Record<string, string>, by = 1): void {
    const key = Object.values(labels).join('\u0000')
    const entry = this.values.get(key)
    if (entry) entry.value += by
    else this.values.set(key, { labels, value: by })
  }

  /**
   * The hot-path form of inc: the caller gives the key (label values joined by NUL) and builds the
   * labels object only the first time that key is seen, so a request allocates nothing here.
   */
  incKey(key: string, labels: () => Record<string, string>, by = 1): void {
    const entry = this.values.get(key)
    if (entry) entry.value += by
    else this.values.set(key, { labels: labels(), value: by })
  }

  get(labels: Record<string, string>): number {
    return this.values.get(Object.values(labels).join('\u0000'))?.value ?? 0
  }

  entries(): { labels: Record<string, string>; value: number }[] {
    return [...this.values.values()]
  }
}

/** A label value escaped as the text format wants: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

function formatNumber(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf'
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)))
}

export class ApiMetrics {
  readonly requests = new LabeledCounter()
  readonly produced = new LabeledCounter()
  readonly rejections = new LabeledCounter()
  readonly produceLatency = new Histogram(LATENCY_BUCKETS_SECONDS)
  readonly batchSize = new Histogram(BATCH_SIZE_BUCKETS)
  inFlight = 0

  request(route: string, method: string, status: number): void {
    this.requests.incKey(`${route}\u0000${method}\u0000${status}`, () => ({
      route,
      method,
      status: String(status),
    }))
  }

  rejection(reason: string): void {
    this.rejections.inc({ reason })
  }

  /** Total of all rejections with this reason (tests and the JSON status use it). */
  rejectionCount(reason: string): number {
    return this.rejections.get({ reason })
  }

  render(): string {
    const out: string[] = []
    const counter = (name: string, help: string, c: LabeledCounter) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
      for (const e of c.entries()) out.push(`${name}${labelText(e.labels)} ${formatNumber(e.value)}`)
    }
    const histogram = (name: string, help: string, h: Histogram) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
      let cumulative = 0
      for (let i = 0; i < h.buckets.length; i++) {
        cumulative += h.counts[i]
        out.push(`${name}_bucket{le="${formatNumber(h.buckets[i])}"} ${cumulative}`)
      }
      out.push(`${name}_bucket{le="+Inf"} ${h.count}`)
      out.push(`${name}_sum ${formatNumber(h.sum)}`, `${name}_count ${h.count}`)
    }
    counter('game_api_requests_total', 'HTTP requests by route, method and status.', this.requests)
    counter('game_api_events_produced_total', 'Events acked by Kafka, by event type.', this.produced)
    counter('game_api_rejections_total', 'Requests answered 4xx/5xx, by reason.', this.rejections)
    histogram(
      'game_api_produce_latency_seconds',
      'Time from a produce request to its ack (or failure).',
      this.produceLatency,
    )
    histogram('game_api_produce_batch_size', 'Events per produce request.', this.batchSize)
    out.push(
      '# HELP game_api_in_flight_requests Requests being handled.',
      '# TYPE game_api_in_flight_requests gauge',
      `game_api_in_flight_requests ${this.inFlight}`,
    )
    return `${out.join('\n')}\n`
  }
}
