/**
 * Plain progress lines for logs and pipes: a line is printed when it differs from the last one
 * printed, and the same line again at most once per `heartbeatMs` (a heartbeat), so an idle
 * long-running command does not fill a log with copies. Pure apart from the clock it is given.
 */
export function changedLines(
  heartbeatMs = 60_000,
  now: () => number = Date.now,
): (line: string) => string | undefined {
  let last: string | undefined
  let at = 0
  return (line) => {
    const t = now()
    if (line === last && t - at < heartbeatMs) return undefined
    last = line
    at = t
    return line
  }
}
