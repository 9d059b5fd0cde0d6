import type { QueryResult } from '../lib/report/engine.js'
import type { ReportName, ReportResult } from '../lib/report/reports.js'
import { type Bar, renderBarChart } from './chart.js'
import { renderCsv } from './csv.js'
import { type Cell, renderTable } from './table.js'

/** How a report prints: its columns (JSON keys) and which are numbers (right-aligned). */
export const REPORT_COLUMNS: Record<ReportName, { key: string; numeric?: boolean }[]> = {
  balances: [
    { key: 'host' },
    { key: 'added', numeric: true },
    { key: 'spent', numeric: true },
    { key: 'balance', numeric: true },
    { key: 'transactions', numeric: true },
  ],
  purchases: [
    { key: 'event_type' },
    { key: 'description' },
    { key: 'count', numeric: true },
    { key: 'spent', numeric: true },
    { key: 'buyers', numeric: true },
  ],
  money: [
    { key: 'host' },
    { key: 'sum', numeric: true },
    { key: 'avg', numeric: true },
    { key: 'count', numeric: true },
  ],
  guilds: [
    { key: 'guild_name' },
    { key: 'joins', numeric: true },
    { key: 'cancels', numeric: true },
    { key: 'members', numeric: true },
    { key: 'churn_pct', numeric: true },
    { key: 'median_time_to_cancel_s', numeric: true },
  ],
  messages: [{ key: 'timestamp' }, { key: 'host' }, { key: 'message' }],
  overview: [{ key: 'metric' }, { key: 'key' }, { key: 'value', numeric: true }],
}

/** Reports that draw a chart with --chart. */
export const CHART_REPORTS: readonly ReportName[] = ['balances', 'purchases', 'overview']

function formatNumber(v: unknown): Cell {
  if (typeof v !== 'number') return v as Cell
  return Number.isInteger(v) ? v : Number(v.toFixed(2))
}

/** The report as a table (plus a NEGATIVE flag on balances below zero). */
export function renderReportTable(result: ReportResult, options: { color?: boolean } = {}): string {
  const cols = REPORT_COLUMNS[result.report]
  const head = cols.map((c) => c.key)
  const flag = result.report === 'balances'
  if (flag) head.push('flag')
  const rows = (result.rows as unknown as Record<string, unknown>[]).map((r) => {
    const cells = cols.map((c) => (c.numeric ? formatNumber(r[c.key]) : (r[c.key] as Cell)))
    if (flag) cells.push((r.balance as number) < 0 ? 'NEGATIVE' : '')
    return cells
  })
  const alignRight = cols.flatMap((c, i) => (c.numeric ? [i] : []))
  return renderTable(head, rows, { color: options.color, alignRight })
}

export function renderReportCsv(result: ReportResult): string {
  return renderCsv(
    REPORT_COLUMNS[result.report].map((c) => c.key),
    result.rows as unknown as Record<string, unknown>[],
  )
}

/** What --chart draws: balances per host, coins spent per item, overview's events per day. */
export function reportBars(result: ReportResult): Bar[] {
  switch (result.report) {
    case 'balances':
      return (result as ReportResult<'balances'>).rows.map((r) => ({ label: r.host, value: r.balance }))
    case 'purchases':
      return (result as ReportResult<'purchases'>).rows.map((r) => ({
        label: r.description ? `${r.event_type} (${r.description})` : r.event_type,
        value: r.spent,
      }))
    case 'overview':
      return (result as ReportResult<'overview'>).rows
        .filter((r) => r.metric === 'events_per_day')
        .map((r) => ({ label: r.key ?? '', value: r.value ?? 0 }))
    default:
      return []
  }
}

/** What the chart of each report draws, said above it. */
const CHART_TITLES: Partial<Record<ReportResult['report'], string>> = {
  balances: 'balance per player (coins; negative left of the axis)',
  purchases: 'coins spent per item (the spent column)',
  overview: 'events per day',
}

export function renderReportChart(
  result: ReportResult,
  options: { color?: boolean; width?: number } = {},
): string {
  const chart = renderBarChart(reportBars(result), options)
  const title = CHART_TITLES[result.report]
  return title && chart ? `${title}\n${chart}` : chart
}

/** A `game query` result as a table. */
export function renderQueryTable(result: QueryResult, options: { color?: boolean } = {}): string {
  const numeric = new Set(
    result.columns.flatMap((c, i) => (/INT|DECIMAL|DOUBLE|FLOAT|REAL|NUMERIC/.test(c.type) ? [i] : [])),
  )
  const rows = result.rows.map((r) =>
    result.columns.map((c) => {
      const v = r[c.name]
      return v !== null && typeof v === 'object' ? JSON.stringify(v) : (v as Cell)
    }),
  )
  return renderTable(
    result.columns.map((c) => c.name),
    rows,
    { color: options.color, alignRight: [...numeric] },
  )
}

export function renderQueryCsv(result: QueryResult): string {
  return renderCsv(
    result.columns.map((c) => c.name),
    result.rows,
  )
}
