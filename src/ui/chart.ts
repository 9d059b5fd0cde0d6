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

/** The first `width` characters of a label, '…' last when it was cut. */
function fitLabel(label: string, width: number): string {
  const chars = [...label]
  if (chars.length <= width) return label + ' '.repeat(width - chars.length)
  return `${chars.slice(0, width - 1).join('')}…`
}

const ESC = '\u001b['
const FULL = '█'
const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/**
 * A pure horizontal bar chart: one line per bar, labels padded, bars scaled to the largest absolute
 * value. Negative values are drawn with '-' (red when coloured) so they stand out.
 */
export function renderBarChart(bars: Bar[], options: BarChartOptions = {}): string {
  if (bars.length === 0) return ''
  const format = options.format ?? ((v: number) => v.toLocaleString('en-US'))
  const max = Math.max(...bars.map((b) => Math.abs(b.value)), 0)
  const valueWidth = Math.max(...bars.map((b) => format(b.value).length))
  // a line: label + ' | ' + bar + ' ' + value
  const room = (options.maxLineWidth ?? 80) - 3 - 1 - valueWidth
  let labelWidth = Math.max(...bars.map((b) => [...b.label].length))
  if (labelWidth > room - MIN_BAR) labelWidth = Math.max(MIN_LABEL, room - MIN_BAR)
  const width = Math.max(1, Math.min(options.width ?? 40, room - labelWidth))
  return bars
    .map((b) => {
      const units = max === 0 || !Number.isFinite(b.value) ? 0 : (Math.abs(b.value) / max) * width
      const label = fitLabel(b.label, labelWidth)
      let bar: string
      if (options.color) {
        const whole = Math.floor(units)
        const eighth = Math.round((units - whole) * 8)
        bar = FULL.repeat(whole) + (eighth === 8 ? FULL : PARTIAL[eighth])
        if (bar === '' && b.value !== 0) bar = PARTIAL[1]
        bar = `${ESC}${b.value < 0 ? '31' : '36'}m${bar}${ESC}39m`
      } else {
        let n = Math.round(units)
        if (n === 0 && b.value !== 0) n = 1
        bar = (b.value < 0 ? '-' : '#').repeat(n)
      }
      return `${label} | ${bar} ${format(b.value)}`.trimEnd()
    })
    .join('\n')
}
