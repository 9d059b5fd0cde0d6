import Table from 'cli-table3'

export interface TableOptions {
  /** Colour and unicode borders (interactive terminals); plain ASCII otherwise. */
  color?: boolean
  /** Right-align these column indexes (numbers). */
  alignRight?: number[]
}

const ASCII_CHARS = {
  top: '-',
  'top-mid': '+',
  'top-left': '+',
  'top-right': '+',
  bottom: '-',
  'bottom-mid': '+',
  'bottom-left': '+',
  'bottom-right': '+',
  left: '|',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '|',
  'right-mid': '',
  middle: '|',
}

/** Box drawing without a rule between rows (the header stands out by colour). */
const UNICODE_CHARS = {
  top: '─',
  'top-mid': '┬',
  'top-left': '┌',
  'top-right': '┐',
  bottom: '─',
  'bottom-mid': '┴',
  'bottom-left': '└',
  'bottom-right': '┘',
  left: '│',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '│',
  'right-mid': '',
  middle: '│',
}

export type Cell = string | number | bigint | boolean | null | undefined

function cellText(value: Cell): string {
  if (value === null || value === undefined) return ''
  return String(value)
}

/** The one cli-table3 wrapper: a pure function from rows to a string. */
export function renderTable(head: string[], rows: Cell[][], options: TableOptions = {}): string {
  const right = new Set(options.alignRight ?? [])
  const table = new Table({
    head,
    style: options.color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
    chars: options.color ? UNICODE_CHARS : ASCII_CHARS,
    colAligns: head.map((_, i) => (right.has(i) ? 'right' : 'left')),
  })
  for (const row of rows) table.push(row.map(cellText))
  return table.toString()
}
