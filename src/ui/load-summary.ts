import type { CheckResult } from '../lib/load/check.js'
import type { LoadProgress, LoadResult } from '../lib/load/runner.js'
import { renderTable } from './table.js'

export interface RenderOptions {
  color?: boolean
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/** One plain progress line (stderr, non-interactive). */
export function renderLoadProgressLine(p: LoadProgress): string {
  const done = p.total !== undefined ? `${p.done}/${p.total}` : `${p.done}`
  const time =
    p.durationMs !== undefined ? `${seconds(p.elapsedMs)}/${seconds(p.durationMs)}` : seconds(p.elapsedMs)
  const phase = p.phases > 1 ? ` phase ${p.phase}/${p.phases}` : ''
  return `load:${phase} ${done} requests, ${time}, ${p.rps} req/s, ${p.errors} errors`
}

/** The fraction done, 0..1: by requests when the total is known, else by time. */
export function progressFraction(p: LoadProgress): number {
  if (p.total) return Math.min(1, p.done / p.total)
  if (p.durationMs) return Math.min(1, p.elapsedMs / p.durationMs)
  return 0
}

/** The summary printed after a run: totals, latency (service time), status codes, per player and type. */
export function renderLoadSummary(r: LoadResult, options: RenderOptions = {}): string {
  const color = options.color
  const lines: string[] = []
  lines.push(
    `Scenario ${r.scenario} (seed ${r.seed}) against ${r.url}: ${r.requests.sent} sent in ${seconds(r.durationMs)} over ${r.connections} connections${r.rate ? ` at ${r.rate} req/s` : ''}`,
  )
  lines.push(
    renderTable(
      ['req/s', 'sent', '2xx', 'non-2xx', 'no answer', 'error rate', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        [
          r.rps,
          r.requests.sent,
          r.requests.accepted,
          r.requests.rejected,
          r.requests.unanswered,
          `${r.errorRatePct}%`,
          r.latency.p50,
          r.latency.p90,
          r.latency.p99,
          r.latency.max,
        ],
      ],
      { color, alignRight: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ),
  )
  lines.push(
    'Latency is service time (request written to response read), not corrected for coordinated omission.',
  )
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ')
  lines.push(`Status codes: ${codes || 'none'}`)
  if (r.requests.timeouts || r.requests.connectionErrors) {
    lines.push(`Timeouts: ${r.requests.timeouts}, connection errors: ${r.requests.connectionErrors}`)
  }
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
  if (r.ledgerFile) lines.push(`Ledger written to ${r.ledgerFile}`)
  if (r.thresholds.breaches.length > 0) {
    for (const b of r.thresholds.breaches) lines.push(`FAIL ${b.message}`)
  } else if (Object.keys(r.thresholds.limits).length > 0) {
    lines.push('Thresholds: all passed')
  }
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
      ? `OK: the lake matches the ledger ${r.ledgerFile} (${r.rows.length} player/type rows).`
      : `MISMATCH: ${r.problems} of ${r.rows.length} player/type rows differ (only those are shown).`,
  )
  return lines.join('\n')
}
