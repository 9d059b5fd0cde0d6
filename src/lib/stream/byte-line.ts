/**
 * The stream's byte-level line writing and reading (stream/encode.ts uses them): ByteLine, a CSV
 * line built from byte ranges of a Kafka record, ASCII text and integers, written straight into the
 * buffer's chunk without a JS string; putInt/intLength, integers as decimal digits; and the readers
 * of the scanned path: ReceivedParser (the API's received_at, its minute cached), intText and
 * parseReceived. Pure, no I/O.
 */
import { CSV_DELIMITER } from '../lake/parquet.js'

/** A line the buffer writes straight into its chunk (MessageEncoder's byte-built CSV lines). */
export interface LineWriter {
  /** The line's length in bytes (without the newline). */
  readonly size: number
  /** Writes the line at buf[pos, pos + size); returns pos + size. */
  write(buf: Buffer, pos: number): number
}

/** Date.parse for the API's own `received_at` (toISOString: YYYY-MM-DDTHH:MM:SS.sssZ); anything else goes to Date.parse. */
export function parseReceived(s: string): number {
  if (
    s.length === 24 &&
    s.charCodeAt(4) === 45 &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 &&
    s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(19) === 46 &&
    s.charCodeAt(23) === 90
  ) {
    const y = digits(s, 0, 4)
    const mo = digits(s, 5, 2)
    const d = digits(s, 8, 2)
    const h = digits(s, 11, 2)
    const mi = digits(s, 14, 2)
    const se = digits(s, 17, 2)
    const ms = digits(s, 20, 3)
    // Only unambiguous values (days up to 28 exist in every month; Date.UTC maps years < 100 to
    // 19xx); the rest as Date.parse sees them.
    if (
      y >= 100 &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= 28 &&
      h >= 0 &&
      h <= 23 &&
      mi >= 0 &&
      mi <= 59 &&
      se >= 0 &&
      se <= 59 &&
      ms >= 0
    ) {
      return Date.UTC(y, mo - 1, d, h, mi, se, ms)
    }
  }
  return Date.parse(s)
}

/**
 * parseReceived's fast case on bytes: the ms, or NaN when it is not that case. Events in a row
 * mostly share their minute: the minute's ms is cached by its 16 bytes (YYYY-MM-DDTHH:MM), so
 * each event parses only its seconds and milliseconds.
 */
export class ReceivedParser {
  private readonly minute = Buffer.alloc(16)
  private minuteMs = Number.NaN

  parse(b: Buffer, start: number, end: number): number {
    if (end - start !== 24 || b[start + 16] !== 58 || b[start + 19] !== 46 || b[start + 23] !== 90) {
      return Number.NaN
    }
    const se = byteDigits(b, start + 17, 2)
    const ms = byteDigits(b, start + 20, 3)
    if (se < 0 || se > 59 || ms < 0) return Number.NaN
    let same = !Number.isNaN(this.minuteMs)
    for (let j = 0; same && j < 16; j++) same = b[start + j] === this.minute[j]
    if (!same) {
      const base = minuteMs(b, start)
      if (Number.isNaN(base)) return Number.NaN
      b.copy(this.minute, 0, start, start + 16)
      this.minuteMs = base
    }
    // Date.UTC(y, mo, d, h, mi, se, ms) is the minute's ms plus these: integers, exact.
    return this.minuteMs + se * 1000 + ms
  }
}

/** The ms of the minute YYYY-MM-DDTHH:MM at b[start], under parseReceived's rules, or NaN. */
function minuteMs(b: Buffer, start: number): number {
  if (b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84 || b[start + 13] !== 58)
    return Number.NaN
  const y = byteDigits(b, start, 4)
  const mo = byteDigits(b, start + 5, 2)
  const d = byteDigits(b, start + 8, 2)
  const h = byteDigits(b, start + 11, 2)
  const mi = byteDigits(b, start + 14, 2)
  // Only unambiguous values, as parseReceived.
  if (y >= 100 && mo >= 1 && mo <= 12 && d >= 1 && d <= 28 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59) {
    return Date.UTC(y, mo - 1, d, h, mi, 0, 0)
  }
  return Number.NaN
}

/**
 * What Number() gives for integer text in b[start, end) that route.ts INT_TEXT accepts, if it has at most 15
 * digits (exact); else NaN. The bytes are a plain string's: the only whitespace is the space.
 */
export function intText(b: Buffer, start: number, end: number): number {
  let i = start
  while (i < end && b[i] === 32) i++
  let negative = false
  if (i < end && (b[i] === 45 || b[i] === 43)) negative = b[i++] === 45
  const d0 = i
  let n = 0
  while (i < end && b[i] >= 48 && b[i] <= 57) n = n * 10 + (b[i++] - 48)
  const count = i - d0
  while (i < end && b[i] === 32) i++
  if (i !== end || count === 0 || count > 15) return Number.NaN
  return negative ? -n : n
}

/** The decimal value of the n bytes at `at`, or -1 if any is not a digit. */
function byteDigits(b: Buffer, at: number, n: number): number {
  let v = 0
  for (let i = at; i < at + n; i++) {
    const c = b[i] - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

/** The decimal value of s[at, at+n), or -1 if any character is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

const DELIMITER_BYTE = CSV_DELIMITER.charCodeAt(0)

const CELL_TEXT = 0
const CELL_BYTES = 1
const CELL_INT = 2

/**
 * A CSV line as bytes: the raw event copied from the record, then the cells: ASCII text, bytes of
 * the record, or integers. Only for events whose bytes are all ASCII with no backslash or line
 * break: then every cell is ASCII too (no escape can put a control character, a delimiter or a
 * non-ASCII character in a value), so the line is byte for byte what its string form encodes to in
 * UTF-8, and no string is made for it.
 */
export class ByteLine implements LineWriter {
  size = 0
  private src: Buffer = Buffer.alloc(0)
  private start = 0
  private end = 0
  private count = 0
  private readonly kinds: Uint8Array
  private readonly texts: string[] = []
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  private readonly ints: Float64Array

  /** `maxCells`: the most cells a line has after the raw event. */
  constructor(maxCells: number) {
    this.kinds = new Uint8Array(maxCells)
    this.starts = new Int32Array(maxCells)
    this.ends = new Int32Array(maxCells)
    this.ints = new Float64Array(maxCells)
  }

  /** Starts a line with the raw event src[start, end). */
  begin(src: Buffer, start: number, end: number): void {
    this.src = src
    this.start = start
    this.end = end
    this.count = 0
    this.size = end - start
  }

  /** A cell of ASCII text (CSV_NULL for null). */
  text(t: string): void {
    const i = this.count++
    this.kinds[i] = CELL_TEXT
    this.texts[i] = t
    this.size += 1 + t.length
  }

  /** A cell that is the source's bytes [start, end). */
  bytes(start: number, end: number): void {
    const i = this.count++
    this.kinds[i] = CELL_BYTES
    this.starts[i] = start
    this.ends[i] = end
    this.size += 1 + end - start
  }

  /** A cell holding a safe integer. */
  int(n: number): void {
    const i = this.count++
    this.kinds[i] = CELL_INT
    this.ints[i] = n
    this.size += 1 + intLength(n)
  }

  write(buf: Buffer, pos: number): number {
    const src = this.src
    src.copy(buf, pos, this.start, this.end)
    let at = pos + (this.end - this.start)
    for (let i = 0; i < this.count; i++) {
      buf[at++] = DELIMITER_BYTE
      const kind = this.kinds[i]
      if (kind === CELL_TEXT) {
        const t = this.texts[i]
        for (let j = 0; j < t.length; j++) buf[at++] = t.charCodeAt(j)
      } else if (kind === CELL_BYTES) {
        const end = this.ends[i]
        for (let j = this.starts[i]; j < end; j++) buf[at++] = src[j]
      } else at = putInt(buf, at, this.ints[i])
    }
    return at
  }
}

/** Decimal digits of 0 <= n < 1e9. */
function smallLength(n: number): number {
  let len = 1
  while (n >= 10) {
    n = (n / 10) | 0
    len += 1
  }
  return len
}

/** Characters of a safe integer in decimal (what `${n}` gives). */
export function intLength(n: number): number {
  const sign = n < 0 ? 1 : 0
  const a = Math.abs(n)
  if (a < 1e9) return sign + smallLength(a)
  return sign + smallLength((a - (a % 1e9)) / 1e9) + 9
}

/** Writes 0 <= n < 1e9 as exactly `width` digits, zero-padded, ending at at + width. */
function putDigits(buf: Buffer, at: number, n: number, width: number): number {
  // As an int32: `%` on a double is a slow floating-point remainder.
  let v = n | 0
  for (let i = at + width - 1; i >= at; i--) {
    buf[i] = 48 + (v % 10)
    v = (v / 10) | 0
  }
  return at + width
}

/**
 * Writes a safe integer in decimal, as `${n}` spells it, without making a string (V8 converts
 * integers past 2^31, such as ms timestamps, on a slow path). Exact: only integer arithmetic.
 */
export function putInt(buf: Buffer, at: number, n: number): number {
  if (n < 0) buf[at++] = 45
  const a = Math.abs(n)
  if (a < 1e9) return putDigits(buf, at, a, smallLength(a))
  const low = a % 1e9
  const high = (a - low) / 1e9
  return putDigits(buf, putDigits(buf, at, high, smallLength(high)), low, 9)
}
