/**
 * The daemon's log lines go to the stack log, which lives in the data dir: on a full disk the very
 * line that reports the failure may not fit. Lines that cannot be written wait in a bounded backlog
 * and are written, in order and with their own timestamps, before the next line that fits (after
 * a note saying they are late). A write error never reaches the caller.
 */
export interface LineWriter {
  (line: string): void
  /** Lines waiting for room. */
  readonly backlog: number
}

/**
 * `write` writes some prefix of the text and returns how many bytes it wrote, or throws (ENOSPC).
 * `now` stamps the note about late lines.
 */
export function createLineWriter(
  write: (text: Buffer) => number,
  options: { maxBacklog?: number; now?: () => Date } = {},
): LineWriter {
  const max = options.maxBacklog ?? 200
  const now = options.now ?? (() => new Date())
  const waiting: Buffer[] = []
  let dropped = 0
  let lateSince: string | undefined
  let lastError = ''
  /** waiting[0] is the rest of a line cut mid-way: it goes out before anything else. */
  let cut = false

  /** Writes all of `buf` or throws; returns the unwritten rest on error via the exception. */
  const writeAll = (buf: Buffer): Buffer => {
    let off = 0
    try {
      while (off < buf.length) off += write(off === 0 ? buf : buf.subarray(off))
      return Buffer.alloc(0)
    } catch (error) {
      lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      return buf.subarray(off)
    }
  }

  const flush = (): boolean => {
    if (waiting.length === 0) return true
    if (cut) {
      const left = writeAll(waiting[0])
      if (left.length > 0) {
        waiting[0] = left
        return false
      }
      waiting.shift()
      cut = false
      if (waiting.length === 0) {
        lateSince = undefined
        return true
      }
    }
    const note = Buffer.from(
      `${now().toISOString()} [log] ${waiting.length} line(s) from ${lateSince} could not be written then (${lastError}); written now${dropped > 0 ? `, ${dropped} older line(s) were dropped` : ''}\n`,
    )
    const rest = writeAll(note)
    if (rest.length > 0) return false
    while (waiting.length > 0) {
      const left = writeAll(waiting[0])
      if (left.length > 0) {
        waiting[0] = left
        return false
      }
      waiting.shift()
    }
    dropped = 0
    lateSince = undefined
    return true
  }

  const fn = ((line: string) => {
    const buf = Buffer.from(`${line}\n`)
    if (flush()) {
      const rest = writeAll(buf)
      if (rest.length === 0) return
      waiting.push(rest)
      cut = rest.length < buf.length
    } else waiting.push(buf)
    lateSince ??= now().toISOString()
    while (waiting.length > max) {
      waiting.shift()
      cut = false
      dropped++
    }
  }) as LineWriter
  Object.defineProperty(fn, 'backlog', { get: () => waiting.length })
  return fn
}
