/** Interactive = stdout is a TTY, TERM is not dumb, CI is unset (STYLE.md). */
export function isInteractive(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb' && !env.CI
}

/** Colour only when interactive and NO_COLOR is unset. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return isInteractive(stream, env) && env.NO_COLOR === undefined
}

/** Columns to lay a table out in: the terminal's width, or 100 when not a terminal. */
export function terminalWidth(stream: { columns?: number; isTTY?: boolean } = process.stdout): number {
  return stream.isTTY && stream.columns ? stream.columns : 100
}

/** Word-wraps text to lines of at most `width` characters (a longer word is cut). Pure. */
export function wrapText(text: string, width: number): string {
  const w = Math.max(8, width)
  const lines: string[] = []
  for (const paragraph of text.split('\n')) {
    let line = ''
    for (let word of paragraph.split(/\s+/).filter(Boolean)) {
      while (word.length > w) {
        if (line) lines.push(line)
        lines.push(word.slice(0, w))
        word = word.slice(w)
        line = ''
      }
      if (!line) line = word
      else if (line.length + 1 + word.length <= w) line += ` ${word}`
      else {
        lines.push(line)
        line = word
      }
    }
    lines.push(line)
  }
  return lines.join('\n')
}
