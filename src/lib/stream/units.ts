const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/**
 * Parses a duration in ms: a number with a unit (ms, s, m, h, d, w), or a bare number in `bare`
 * units; zero allowed (callers check their range); undefined when it is not one. Pure.
 */
export function durationMs(text: string, bare: keyof typeof UNIT_MS = 's'): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(text)
  if (!m) return undefined
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? bare).toLowerCase() as keyof typeof UNIT_MS]
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}

/** Parses a positive duration: `500ms`, `30s`, `2m`, `1h` (a bare number is seconds), in ms. Pure. */
export function parseDuration(text: string): number | undefined {
  const ms = durationMs(text)
  return ms !== undefined && ms > 0 ? ms : undefined
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
