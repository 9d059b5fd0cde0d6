/** A bar of a horizontal bar chart. */
export interface Bar {
  label: string
  value: number
}

export interface BarChartOptions {
  /** Width of the longest bar in characters. Default 40. */
  width?: number
  /** Colour (interactive terminals): unicode blocks in colour; otherwise '#' and '-' only. */
  color?: boolean
  /** Formats the value printed after each bar. */
  format?: (value: number) => string
  /**
   * No line is longer than this (default 80 columns): the bars shrink first, down to MIN_BAR, then
   * labels are cut with '…'.
   */
  maxLineWidth?: number
}

const MIN_BAR = 10
const MIN_LABEL = 8

/** The first `width` characters of a label, '…' last when it was cut; padded to `width`. */
function fitLabel(label: string, width: number): string {
  const chars = [...label]
  if (chars.length <= width) return label + ' '.repeat(width - chars.length)
  return `${chars.slice(0, width - 1).join('')}…`
}

const ESC = '\u001b['
const FULL = '█'
const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** A bar of `units` eighths-precision cells: blocks when coloured, '#' otherwise; never empty for non-zero. */
function barText(units: number, nonZero: boolean, color: boolean): string {
  if (color) {
    const whole = Math.floor(units)
    const eighth = Math.round((units - whole) * 8)
    const bar = FULL.repeat(whole) + (eighth === 8 ? FULL : PARTIAL[eighth])
    return bar === '' && nonZero ? PARTIAL[1] : bar
  }
  let n = Math.round(units)
  if (n === 0 && nonZero) n = 1
  return '#'.repeat(n)
}

/**
 * A pure horizontal bar chart: one line per bar, labels padded, bars scaled to the largest absolute
 * value, no line wider than maxLineWidth. With negative values the chart gets a zero axis ('|'): negative bars grow left of it,
 * positive ones right, so a negative balance can never pass for a small positive one (coloured red
 * and cyan on a terminal; '#' on both sides, split by the axis, in plain text).
 */
export function renderBarChart(bars: Bar[], options: BarChartOptions = {}): string {
  if (bars.length === 0) return ''
  const format = options.format ?? ((v: number) => v.toLocaleString('en-US'))
  const finite = (v: number) => (Number.isFinite(v) ? v : 0)
  const maxPos = Math.max(0, ...bars.map((b) => finite(b.value)))
  const maxNeg = Math.max(0, ...bars.map((b) => -finite(b.value)))
  // A line: label, ' | ' (or ' ' + axis), the bars, ' ', the value.
  const valueWidth = Math.max(...bars.map((b) => format(b.value).length))
  const room = (options.maxLineWidth ?? 80) - 4 - valueWidth
  let labelWidth = Math.max(...bars.map((b) => [...b.label].length))
  if (labelWidth > room - MIN_BAR) labelWidth = Math.max(MIN_LABEL, room - MIN_BAR)
  const width = Math.max(2, Math.min(options.width ?? 40, room - labelWidth))
  const color = Boolean(options.color)
  const paint = (bar: string, negative: boolean) =>
    color && bar ? `${ESC}${negative ? '31' : '36'}m${bar}${ESC}39m` : bar
  // Width for each side, in proportion to its largest bar.
  const negWidth = maxNeg === 0 ? 0 : Math.max(1, Math.round((width * maxNeg) / (maxNeg + maxPos)))
  const posWidth = width - negWidth
  const scale = maxPos
  return bars
    .map((b) => {
      const v = finite(b.value)
      const label = fitLabel(b.label, labelWidth)
      if (maxNeg === 0) {
        const units = scale === 0 ? 0 : (v / scale) * width
        return `${label} | ${paint(barText(units, v !== 0, color), false)} ${format(b.value)}`.trimEnd()
      }
      // One scale for both sides, so lengths compare across the axis.
      const units = Math.min(v < 0 ? negWidth : posWidth, (Math.abs(v) * width) / (maxNeg + maxPos))
      const bar = barText(units, v !== 0, color)
      const left =
        v < 0 ? ' '.repeat(Math.max(0, negWidth - [...bar].length)) + paint(bar, true) : ' '.repeat(negWidth)
      const right = v > 0 ? paint(bar, false) : ''
      return `${label} ${left}|${right} ${format(b.value)}`.trimEnd()
    })
    .join('\n')
}
