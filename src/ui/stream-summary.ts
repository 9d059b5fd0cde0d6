import type { StreamStatusResult } from '../lib/stream/status.js'
import type { StreamProgress, StreamResult } from '../lib/stream/stream.js'
import { perSecond } from '../lib/stream/units.js'
import { formatBytes } from './format.js'
import { renderTable } from './table.js'

function totalLag(lag: Record<string, number>): number {
  return Object.values(lag).reduce((a, b) => a + b, 0)
}

/** One plain progress line (stderr, non-interactive). Pure. */
export function streamProgressLine(p: StreamProgress): string {
  if (p.waiting) return `stream: ${p.waiting}`
  const rows = Object.values(p.rows).reduce((a, b) => a + b, 0)
  const flush = p.lastFlush
    ? ` last flush ${p.lastFlush.rows} rows/${p.lastFlush.files} files in ${p.lastFlush.durationMs}ms (${p.lastFlush.reason})`
    : ''
  const warned = p.warnings.length > 0 ? `; ${p.warnings.length} warning(s), last: ${p.warnings.at(-1)}` : ''
  const bad = p.undecodable > 0 ? `; ${p.undecodable} undecodable batch(es), last: ${p.lastUndecodable}` : ''
  return `stream: ${p.events} events (${p.eventsPerSec}/s), ${p.rejected} rejected, ${rows} rows published in ${p.flushes} flushes, ${p.buffered} buffered, lag ${totalLag(p.lag)}, partitions [${p.assigned.join(',')}]${flush}${warned}${bad}`
}

/** The final summary (stdout, human mode). Pure. */
export function renderStreamResult(r: StreamResult, options: { color?: boolean } = {}): string {
  const rows = Object.entries(r.rows).map(([table, n]) => [table, n])
  const offsets = Object.entries(r.offsets)
    .map(([p, o]) => `${p}:${o}`)
    .join(' ')
  const lines = [
    renderTable(['table', 'rows published'], rows, { color: options.color, alignRight: [1] }),
    `${r.events} events in ${(r.durationMs / 1000).toFixed(1)}s (${perSecond(r.events, r.durationMs)}/s), ${r.rejected} rejected, ${r.flushes} flushes (stopped: ${r.stoppedBy})`,
    `offsets (next per partition): ${offsets || 'none'}`,
  ]
  if (r.recovered.rolledForward.length + r.recovered.rolledBack.length > 0) {
    lines.push(
      `recovered: ${r.recovered.rolledForward.length} commit(s) rolled forward, ${r.recovered.rolledBack.length} staging dir(s) rolled back`,
    )
  }
  if (r.undecodable > 0) {
    lines.push(
      `undecodable: ${r.undecodable} record batch(es) skipped into rejected, last: ${r.lastUndecodable}`,
    )
  }
  const unknown = unknownFieldsLine(r.unknownFields)
  if (unknown) lines.push(unknown)
  for (const w of r.warnings) lines.push(`warning: ${w}`)
  return lines.join('\n')
}

/** `game stream status` in human mode. Pure. */
export function renderStreamStatus(s: StreamStatusResult, options: { color?: boolean } = {}): string {
  const parts = renderTable(
    ['partition', 'lake offset', 'group offset', 'end offset', 'lag'],
    s.partitions.map((p) => [
      p.partition,
      p.lakeOffset ?? '-',
      p.groupOffset ?? '-',
      p.endOffset ?? '?',
      p.lag ?? '?',
    ]),
    { color: options.color, alignRight: [0, 1, 2, 3, 4] },
  )
  const tables = renderTable(
    ['table', 'files', 'rows', 'bytes', 'last commit'],
    s.tables.map((t) => [t.table, t.files, t.rows, formatBytes(t.bytes), t.lastCommitAt ?? '-']),
    { color: options.color, alignRight: [1, 2, 3] },
  )
  const lines = [
    `topic ${s.topic}, group ${s.group}, lake ${s.lake}`,
    parts,
    tables,
    `${s.commits} commit(s)${s.lastCommit ? `, last ${s.lastCommit.commitId} at ${s.lastCommit.createdAt}` : ''}${s.staging ? `, ${s.staging} staging entr${s.staging === 1 ? 'y' : 'ies'}` : ''}`,
  ]
  if (s.undecodable?.batches)
    lines.push(
      `${s.undecodable.batches} undecodable batch(es) in rejected, last: ${s.undecodable.lastReason}`,
    )
  if (s.kafkaError) lines.push(`warning: ${s.kafkaError}`)
  const unknown = unknownFieldsLine(s.unknownFields)
  if (unknown) lines.push(unknown)
  return lines.join('\n')
}

/** "unknown fields seen: platform (12), referrer (3) …", or '' when there were none. Pure. */
export function unknownFieldsLine(fields: Record<string, number> | undefined): string {
  const entries = Object.entries(fields ?? {})
  if (entries.length === 0) return ''
  const shown = entries.slice(0, 10).map(([name, n]) => `${JSON.stringify(name).slice(1, -1) || '""'} (${n})`)
  const more = entries.length > 10 ? `, and ${entries.length - 10} more` : ''
  return `unknown fields seen: ${shown.join(', ')}${more}; kept in raw_event only (add them to the catalog to get columns)`
}
