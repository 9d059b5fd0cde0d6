import type { CompactResult, ExpireResult, UpkeepProgress } from '../lib/lake/upkeep.js'
import { formatBytes } from './format.js'
import { renderTable } from './table.js'

/** One plain progress line (stderr) of `game lake compact`. Pure. */
export function upkeepProgressLine(e: UpkeepProgress): string {
  switch (e.phase) {
    case 'plan':
      return `${e.partitions} partition(s) to compact: ${e.files} small file(s), ${formatBytes(e.bytes)}`
    case 'partition':
      return `[${e.index}/${e.total}] ${e.table}/dt=${e.dt}: rewriting ${e.files} file(s), ${formatBytes(e.bytes)}`
    case 'committed':
      return `  ${e.table}/dt=${e.dt}: committed ${e.commitId} (-${e.removed} +${e.added} files)`
    case 'skipped':
      return `  ${e.table}/dt=${e.dt}: skipped (${e.reason})`
  }
}

/** `game lake compact` as text. Pure. */
export function renderCompactResult(r: CompactResult, options: { color?: boolean } = {}): string {
  const verb = r.dryRun ? 'would compact' : 'compacted'
  const done = r.partitions.filter((p) => !p.skipped)
  if (r.partitions.length === 0)
    return `${r.lake}: nothing to compact${r.purged.length ? `; purged ${r.purged.length} removed commit dir(s)` : ''}`
  const rows = r.partitions.map((p) => [
    p.table,
    p.dt,
    p.filesBefore,
    p.skipped ? '-' : p.filesAfter,
    formatBytes(p.bytesBefore),
    p.skipped ? '-' : formatBytes(p.bytesAfter),
    p.rows,
    p.skipped ?? (r.dryRun ? 'dry run' : (p.commitId ?? '')),
  ])
  const head = `${r.lake}: ${verb} ${done.length} partition(s), ${r.totals.filesBefore} → ${r.totals.filesAfter} files${r.purged.length ? `; purged ${r.purged.length} removed commit dir(s)` : ''}`
  return `${head}\n${renderTable(
    ['table', 'dt', 'files', 'after', 'bytes', 'after', 'rows', 'commit'],
    rows,
    {
      color: options.color,
      alignRight: [2, 3, 4, 5, 6],
    },
  )}`
}

/** `game lake expire` as text. Pure. */
export function renderExpireResult(r: ExpireResult, options: { color?: boolean } = {}): string {
  if (r.partitions.length === 0) return `${r.lake}: no dt partition before ${r.horizon}; nothing to expire`
  const verb = r.dryRun ? 'would expire' : 'expired'
  const rows = r.partitions.map((p) => [
    p.table,
    p.dt,
    p.files,
    formatBytes(p.bytes),
    p.rows,
    p.skipped ?? '',
  ])
  const head = `${r.lake}: ${verb} ${r.totals.partitions} partition(s) before ${r.horizon}: ${r.totals.files} files, ${r.totals.rows} rows${r.commitId ? ` (commit ${r.commitId})` : ''}`
  return `${head}\n${renderTable(['table', 'dt', 'files', 'bytes', 'rows', 'note'], rows, {
    color: options.color,
    alignRight: [2, 3, 4],
  })}`
}
