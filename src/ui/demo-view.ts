import type { DemoProgress, DemoResult } from '../lib/demo.js'
import { renderReportTable } from './report-view.js'

/** One plain progress line per demo step transition. */
export function demoProgressLine(p: DemoProgress): string {
  return p.state === 'start' ? `[${p.index}/${p.total}] ${p.message}…` : `[${p.index}/${p.total}] done`
}

/** The demo's result as a person reads it: each notebook question, one line of explanation, its table. */
export function renderDemo(result: DemoResult, options: { color?: boolean } = {}): string {
  const out: string[] = []
  const { load, stream } = result
  out.push(
    `Sent ${load.requests.sent} requests (the seed notebook's ApacheBench runs), ${load.requests.accepted} accepted and in Kafka.`,
    `Streamed ${stream.events} events into the lake: ${Object.entries(stream.rows)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}.`,
  )
  if (result.lakeHadData) {
    out.push('Note: the lake already held events from an earlier run, so the numbers below include them.')
  }
  for (const r of result.reports) {
    out.push(
      '',
      `## ${r.title}`,
      r.explanation,
      `(notebook: ${r.notebookSql})`,
      renderReportTable(r.result, options),
    )
  }
  out.push('')
  out.push(
    result.stackLeftRunning ? 'The stack is still running. Next, try:' : 'The stack is stopped. Next, try:',
  )
  for (const cmd of result.next) out.push(`  ${cmd}`)
  return out.join('\n')
}
