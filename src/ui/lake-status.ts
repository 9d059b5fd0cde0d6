import type { LakeStatusResult } from '../lib/lake/status.js'
import { formatBytes } from './format.js'
import { renderTable } from './table.js'

/** `game lake status` as text: one line about the commit log, then a row per table. Pure. */
export function renderLakeStatus(s: LakeStatusResult, options: { color?: boolean } = {}): string {
  const head = `${s.lake}: ${s.commits} commit(s)${s.checkpoints > 0 ? `, ${s.checkpoints} checkpoint(s)` : ''}, last ${s.lastCommitAt ?? 'never'}`
  const rows = s.tables.map((t) => [
    t.table,
    t.files,
    t.smallFiles,
    formatBytes(t.bytes),
    t.rows,
    t.partitions,
    t.oldestDt ?? '-',
    t.newestDt ?? '-',
    t.lastCompaction ?? 'never',
  ])
  rows.push([
    '(all)',
    s.totals.files,
    s.totals.smallFiles,
    formatBytes(s.totals.bytes),
    s.totals.rows,
    '',
    '',
    '',
    '',
  ])
  const table = renderTable(
    ['table', 'files', 'small', 'bytes', 'rows', 'dt', 'oldest dt', 'newest dt', 'last compaction'],
    rows,
    { color: options.color, alignRight: [1, 2, 3, 4, 5] },
  )
  return `${head}\n${table}`
}
