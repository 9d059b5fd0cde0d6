import type { DoctorResult } from '../lib/stack/doctor.js'
import { renderTable } from './table.js'
import { wrapText } from './terminal.js'

/**
 * The doctor's table, fitted to `width` columns: the detail and fix columns are word-wrapped, so one
 * long message (a Docker error) cannot make the table 200 columns wide. Pure.
 */
export function renderDoctorTable(result: DoctorResult, options: { color?: boolean; width: number }): string {
  const mark = (c: DoctorResult['checks'][number]) => (c.level === 'info' ? '-' : c.ok ? 'ok' : 'FAIL')
  const nameWidth = Math.max(5, ...result.checks.map((c) => c.name.length))
  // 4 columns: borders and padding take 3 per column plus 1.
  const free = Math.max(30, options.width - 13 - 4 - nameWidth)
  const anyFix = result.checks.some((c) => c.fix !== '')
  const detailWidth = anyFix ? Math.floor(free * 0.55) : free
  const fixWidth = free - detailWidth
  const rows = result.checks.map((c) => [
    mark(c),
    c.name,
    wrapText(c.detail, detailWidth),
    c.fix ? wrapText(c.fix, fixWidth) : '',
  ])
  return renderTable(['', 'check', 'detail', 'fix'], rows, { color: options.color })
}
