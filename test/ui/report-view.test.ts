import { describe, expect, it } from 'vitest'
import type { ReportResult } from '../../src/lib/report/reports.js'
import {
  renderReportChart,
  renderReportCsv,
  renderReportTable,
  reportBars,
} from '../../src/ui/report-view.js'

const balances: ReportResult<'balances'> = {
  report: 'balances',
  rows: [
    { host: 'oski.berkeley.edu', added: 10000, spent: 170, balance: 9830, transactions: 117 },
    { host: 'cheater', added: 0, spent: 20, balance: -20, transactions: 2 },
  ],
}

describe('report views', () => {
  it('balances table flags negative balances and right-aligns numbers', () => {
    const out = renderReportTable(balances)
    expect(out).toContain('| oski.berkeley.edu | 10000 |   170 |    9830 |          117 |          |')
    expect(out).toMatch(/\| cheater .*\|\s+-20 \|.*\| NEGATIVE \|/)
  })

  it('CSV has exactly the JSON keys as columns', () => {
    expect(renderReportCsv(balances)).toBe(
      'host,added,spent,balance,transactions\noski.berkeley.edu,10000,170,9830,117\ncheater,0,20,-20,2\n',
    )
  })

  it('charts: balances per host, purchases per item, overview per day', () => {
    expect(reportBars(balances)).toEqual([
      { label: 'oski.berkeley.edu', value: 9830 },
      { label: 'cheater', value: -20 },
    ])
    expect(
      reportBars({
        report: 'purchases',
        rows: [{ event_type: 'purchase_sword', description: 'Great Sword', count: 2, spent: 20, buyers: 1 }],
      }),
    ).toEqual([{ label: 'purchase_sword (Great Sword)', value: 20 }])
    expect(
      reportBars({
        report: 'overview',
        rows: [
          { metric: 'players', key: null, value: 6 },
          { metric: 'events_per_day', key: '2019-08-09', value: 131 },
        ],
      }),
    ).toEqual([{ label: '2019-08-09', value: 131 }])
    const chart = renderReportChart(balances, { width: 10 })
    expect(chart.split('\n')[0]).toBe('balance per player (coins; negative left of the axis)')
    expect(chart).toMatch(/oski\.berkeley\.edu\s+\|#{9} 9,830/)
    expect(chart).toMatch(/cheater\s+#\| -20/)
  })
})
