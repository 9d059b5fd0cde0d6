import type { CheckResult } from '../lib/load/check.js'
import type { LoadProgress, LoadResult } from '../lib/load/runner.js'
import type { LatencySummary, ThresholdCheck } from '../lib/load/stats.js'
import { renderTable } from './table.js'

export interface RenderOptions {
  color?: boolean
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/** Every latency figure printed, rounded one way (2 decimals): rounding is monotone, so p99 <= max holds. */
export function fmtMs(ms: number): string {
  return ms.toFixed(2)
}

/** One plain progress line (stderr, non-interactive). */
export function renderLoadProgressLine(p: LoadProgress): string {
  const done = p.total !== undefined ? `${p.done}/${p.total}` : `${p.done}`
  const time =
    p.durationMs !== undefined ? `${seconds(p.elapsedMs)}/${seconds(p.durationMs)}` : seconds(p.elapsedMs)
  const phase = p.phases > 1 ? ` phase ${p.phase}/${p.phases}` : ''
  const window = p.final ? 'whole run' : 'last 1s'
  const late = p.model === 'open' ? `, ${p.late} late` : ''
  return `load:${p.final ? ' done,' : ''}${phase} ${done} requests, ${time}, ${p.rps} req/s, p99 ${fmtMs(p.p99)} ms (${window}), ${p.errors} errors${late}`
}

/** The fraction done, 0..1: by requests when the total is known, else by time. */
export function progressFraction(p: LoadProgress): number {
  if (p.total) return Math.min(1, p.done / p.total)
  if (p.durationMs) return Math.min(1, p.elapsedMs / p.durationMs)
  return 0
}

/** Word-wraps prose to `width` columns. */
export function wrap(text: string, width: number): string {
  const out: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(line)
  return out.join('\n')
}

/** The one-line description of the model that ran (summary, HTML report). */
export function describeModel(r: LoadResult): string {
  if (r.model === 'open') {
    const o = r.open
    return `Open model: ${r.rate} req/s on a fixed schedule (request i due at t0 + i/${r.rate}), whatever the answers; ${r.connections} connections up front, up to ${o?.maxConnections ?? '?'} (peak ${o?.peakConnections ?? '?'}). Latency is corrected: measured from each request's due time, so waiting for a connection and a late send count.`
  }
  return `Closed model: ${r.connections} connections, each sending its next request when the last one is answered. Latency is service time; a slow answer delays the requests behind it, which this does not show (coordinated omission): use --rate R for the open model.`
}

const THRESHOLD_TEXT: Record<ThresholdCheck['threshold'], (c: ThresholdCheck) => string> = {
  'max-p99': (c) => `p99 ${fmtMs(c.actual)} ms <= ${c.limit} ms (--max-p99)`,
  'max-error-rate': (c) => `error rate ${c.actual}% <= ${c.limit}% (--max-error-rate)`,
  'min-rps': (c) => `${c.actual} req/s >= ${c.limit} req/s (--min-rps)`,
}

/** `Thresholds: ✓ p99 4.20 ms <= 50 ms (--max-p99), ✗ …`: every threshold set, none when none was set. */
export function renderThresholds(checks: ThresholdCheck[]): string | undefined {
  if (checks.length === 0) return undefined
  return `Thresholds: ${checks.map((c) => `${c.passed ? '✓' : '✗'} ${THRESHOLD_TEXT[c.threshold](c)}`).join(', ')}`
}

/** The run's totals as one table row (summary and HTML report): late only in the open model. */
export function requestTotals(r: LoadResult): { head: string[]; row: (string | number)[] } {
  const open = r.model === 'open'
  const lost = r.requests.timeouts + r.requests.connectionErrors
  return {
    head: ['req/s', 'sent', '2xx', 'non-2xx', 'lost', 'interrupted', ...(open ? ['late'] : []), 'error rate'],
    row: [
      r.rps,
      r.requests.sent,
      r.requests.accepted,
      r.requests.rejected,
      lost,
      r.requests.interrupted,
      ...(open ? [r.requests.late] : []),
      `${r.errorRatePct}%`,
    ],
  }
}

/** The summary printed after a run: model, totals, latency, status codes, per player and type, thresholds. */
export function renderLoadSummary(r: LoadResult, options: RenderOptions = {}): string {
  const color = options.color
  const open = r.model === 'open'
  const lines: string[] = []
  lines.push(
    `Scenario ${r.scenario} (seed ${r.seed}, run ${r.runId}) against ${r.url}: ${r.requests.sent} sent in ${seconds(r.durationMs)}${r.interrupted ? ' (interrupted: partial results)' : ''}`,
  )
  lines.push(wrap(describeModel(r), 100))
  const { head, row } = requestTotals(r)
  lines.push(renderTable(head, [row], { color, alignRight: head.map((_, i) => i) }))
  const lat = (label: string, l: LatencySummary) => [
    label,
    fmtMs(l.p50),
    fmtMs(l.p90),
    fmtMs(l.p99),
    fmtMs(l.p999),
    fmtMs(l.max),
    fmtMs(l.mean),
  ]
  lines.push(
    renderTable(
      ['latency, ms', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
      open
        ? [lat('corrected (from due time)', r.latency), lat('service time', r.serviceTime)]
        : [lat('service time', r.latency)],
      { color, alignRight: [1, 2, 3, 4, 5, 6] },
    ),
  )
  const notes: string[] = []
  if (r.requests.timeouts + r.requests.connectionErrors > 0)
    notes.push(
      `lost = ${r.requests.timeouts} timeouts + ${r.requests.connectionErrors} connection errors (counted as errors)`,
    )
  if (r.requests.interrupted > 0)
    notes.push(
      'interrupted = still in flight or queued when the run ended; not errors, not in the latency figures',
    )
  if (open && r.requests.late > 0)
    notes.push(
      `late = sent more than ${r.open?.lateAfterMs ?? 10} ms after the due time (the generator or --max-connections was the limit); still sent and measured`,
    )
  for (const n of notes) lines.push(wrap(n, 96).replace(/^/gm, '  '))
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ')
  lines.push(`Status codes: ${codes || 'none'}`)
  lines.push(
    renderTable(
      ['event type', 'sent', 'accepted', 'rejected', 'no answer'],
      r.eventTypes.map((t) => [t.eventType, t.sent, t.accepted, t.rejected, t.unanswered]),
      { color, alignRight: [1, 2, 3, 4] },
    ),
  )
  const maxPlayers = 20
  const players = r.players.slice(0, maxPlayers)
  lines.push(
    renderTable(
      ['player (Host)', 'sent', 'accepted', 'rejected', 'no answer'],
      players.map((p) => [p.host, p.sent, p.accepted, p.rejected, p.unanswered]),
      { color, alignRight: [1, 2, 3, 4] },
    ),
  )
  if (r.players.length > maxPlayers)
    lines.push(`… and ${r.players.length - maxPlayers} more players (see --json)`)
  if (r.ledgerFile) lines.push(`Ledger written to ${r.ledgerFile} (run ${r.runId})`)
  const thresholds = renderThresholds(r.thresholds.checks)
  if (thresholds) lines.push(thresholds)
  return lines.join('\n')
}

/** The reconciliation table of `game check`. */
export function renderCheck(r: CheckResult, options: RenderOptions = {}): string {
  const lines: string[] = []
  const shown = r.ok ? r.rows : r.rows.filter((row) => row.status !== 'ok')
  lines.push(
    renderTable(
      ['player (Host)', 'event type', 'sent', 'accepted', 'in lake', 'status', 'diff'],
      shown.map((x) => [x.host, x.eventType, x.sent, x.accepted, x.lake, x.status, x.difference || '']),
      { color: options.color, alignRight: [2, 3, 4, 6] },
    ),
  )
  if (r.missingFiles.length > 0) {
    lines.push(
      `Committed lake files that are gone (their rows are not counted): ${r.missingFiles.join(', ')}`,
    )
  }
  lines.push(
    r.ok
      ? `OK: the lake matches the ledger ${r.ledgerFile} (${r.rows.length} player/type rows${r.runId ? `, rows of run ${r.runId}` : ''}).`
      : `MISMATCH: ${r.problems} of ${r.rows.length} player/type rows differ (only those are shown).`,
  )
  return lines.join('\n')
}
