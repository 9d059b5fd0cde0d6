/** One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or leading/trailing space. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const s = typeof value === 'object' ? JSON.stringify(value) : String(value)
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** A pure CSV document: a header line, then one line per row, CRLF-free ('\n' line ends). */
export function renderCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map(csvField).join(',')]
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','))
  return `${lines.join('\n')}\n`
}
