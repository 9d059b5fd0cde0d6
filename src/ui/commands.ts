export interface CommandRow {
  id: string
  summary: string
}

/** "game up           Start ..." one command a line, ids padded to one column. */
export function renderCommandList(bin: string, rows: readonly CommandRow[]): string {
  const width = Math.max(...rows.map((r) => bin.length + 1 + r.id.length))
  return rows.map((r) => `${`${bin} ${r.id}`.padEnd(width)}  ${r.summary}\n`).join('')
}
