/** Parses a duration: a number of ms, or `500ms`, `30s`, `2m`, `1h`. Returns undefined when it is not one. Pure. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (!m) return undefined
  const n = Number(m[1])
  const unit = (m[2] ?? 's').toLowerCase()
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined
}

/** Parses a size: a number of bytes, or `512KB`, `64MB`, `1GB` (binary multiples; `KiB`… also accepted). Pure. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = (m[2] ?? 'b').toLowerCase()[0]
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1
  const n = Math.round(Number(m[1]) * mult)
  return Number.isFinite(n) && n > 0 ? n : undefined
}

/**
 * Events per second of a run: all events over all of its time (start-up, joining and flushes
 * included), what a user divides by. Not a rate over the last window, which jumps with every
 * flush and start-up pause. Pure.
 */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0
}
