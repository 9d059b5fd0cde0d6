/** Interactive = stdout is a TTY, TERM is not dumb, CI is unset (STYLE.md). */
export function isInteractive(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb' && !env.CI
}

/** Colour only when interactive and NO_COLOR is unset. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return isInteractive(stream, env) && env.NO_COLOR === undefined
}
