/**
 * A validating scanner for the plainest JSON events, straight from a record's bytes: no string, no
 * object, no allocation per event. It accepts only a strict subset of JSON:
 * - one top-level object whose values are strings, numbers, true, false or null (no nesting);
 * - every byte ASCII; no backslash anywhere (so no escape: a string's bytes are its value);
 * - whitespace between tokens only spaces and tabs.
 * For anything else, including everything that is not valid JSON, `scan` returns false and the
 * caller parses the event with JSON.parse as before: the scanner never decides that an event is
 * invalid, it only recognizes the ones it can read exactly. When it returns true, the event is valid
 * JSON and, for each key it was asked about, `kind`/`start`/`end`/`num` say what JSON.parse would
 * have given for that key. A key it was asked about that appears twice makes it return false
 * (JSON.parse keeps the last one; not worth the subtlety).
 */

/** What a key held. */
export const ABSENT = 0
export const NULL = 1
/** A string: its bytes are [start, end) (no escapes). */
export const STRING = 2
/** An integer of at most 15 digits (so exactly `num`), no fraction or exponent. */
export const INT = 3
/** true, false, or any other number. */
export const OTHER = 4

/** How many other keys a scan remembers the place of (see otherCount). */
export const MAX_OTHER_KEYS = 8

const SPACE = 32
const TAB = 9
const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const MINUS = 45
const PLUS = 43
const DOT = 46
const ZERO = 48
const NINE = 57
const OPEN = 123
const CLOSE = 125

/** Finds a name among a fixed set of ASCII names, from bytes (no string made). */
export class ByteNames {
  /** First candidate id + 1 per (length, up to 63, first byte): 0 for none. */
  private readonly first = new Int32Array(64 * 128)
  /** Next candidate id + 1 with the same length and first byte. */
  private readonly next: Int32Array
  private readonly bytes: Buffer[]

  constructor(readonly names: readonly string[]) {
    this.bytes = names.map((n) => Buffer.from(n, 'latin1'))
    this.next = new Int32Array(names.length)
    for (let id = names.length - 1; id >= 0; id--) {
      const n = names[id]
      if (!/^[\x20-\x7e]*$/.test(n)) throw new Error(`not a printable ASCII name: ${JSON.stringify(n)}`)
      const slot = Math.min(n.length, 63) * 128 + (n.charCodeAt(0) || 0)
      this.next[id] = this.first[slot]
      this.first[slot] = id + 1
    }
  }

  /** The id of the name whose bytes are buf[start, end), or -1. */
  find(buf: Buffer, start: number, end: number): number {
    const len = end - start
    const b0 = len > 0 ? buf[start] : 0
    if (b0 >= 128) return -1
    let id = this.first[Math.min(len, 63) * 128 + b0] - 1
    while (id >= 0) {
      const name = this.bytes[id]
      if (name.length === len) {
        let j = 1
        while (j < len && buf[start + j] === name[j]) j++
        if (j >= len) return id
      }
      id = this.next[id] - 1
    }
    return -1
  }
}

export class PlainJsonScanner {
  readonly kind: Uint8Array
  readonly start: Int32Array
  readonly end: Int32Array
  readonly num: Float64Array
  private readonly seen: Uint32Array
  private epoch = 0
  /**
   * Keys of the last scan that are not among the asked ones and do not start with an upper-case
   * letter (request headers do): how many, and where the first MAX_OTHER_KEYS of them are.
   */
  otherCount = 0
  readonly otherStart = new Int32Array(MAX_OTHER_KEYS)
  readonly otherEnd = new Int32Array(MAX_OTHER_KEYS)

  constructor(private readonly keys: ByteNames) {
    const n = keys.names.length
    this.kind = new Uint8Array(n)
    this.start = new Int32Array(n)
    this.end = new Int32Array(n)
    this.num = new Float64Array(n)
    this.seen = new Uint32Array(n)
  }

  /** Scans buf[from, to) (see the file comment). On false, the per-key results are meaningless. */
  scan(buf: Buffer, from: number, to: number): boolean {
    const epoch = this.nextEpoch()
    const { kind, start, end, num, seen, keys } = this
    let others = 0
    this.otherCount = 0
    let i = skipSpace(buf, from, to)
    if (i >= to || buf[i] !== OPEN) return false
    i = skipSpace(buf, i + 1, to)
    if (i < to && buf[i] === CLOSE) i++
    else {
      for (;;) {
        // A key.
        if (i >= to || buf[i] !== QUOTE) return false
        const k0 = i + 1
        const k1 = stringEnd(buf, k0, to)
        if (k1 < 0) return false
        const id = keys.find(buf, k0, k1)
        i = skipSpace(buf, k1 + 1, to)
        if (i >= to || buf[i] !== COLON) return false
        i = skipSpace(buf, i + 1, to)
        if (i >= to) return false
        // Its value.
        const c = buf[i]
        let k: number
        let v0 = i
        let v1 = i
        let n = 0
        if (c === QUOTE) {
          v0 = i + 1
          v1 = stringEnd(buf, v0, to)
          if (v1 < 0) return false
          k = STRING
          i = v1 + 1
        } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
          const negative = c === MINUS
          if (negative) i++
          const d0 = i
          if (i < to && buf[i] === ZERO) i++
          else {
            while (i < to && buf[i] >= ZERO && buf[i] <= NINE) {
              n = n * 10 + (buf[i] - ZERO)
              i++
            }
            if (i === d0) return false
          }
          k = i - d0 <= 15 ? INT : OTHER
          if (i < to && buf[i] === DOT) {
            i = digits(buf, i + 1, to)
            if (i < 0) return false
            k = OTHER
          }
          if (i < to && (buf[i] === 101 || buf[i] === 69)) {
            i++
            if (i < to && (buf[i] === PLUS || buf[i] === MINUS)) i++
            i = digits(buf, i, to)
            if (i < 0) return false
            k = OTHER
          }
          if (negative) n = -n
        } else if (literal(buf, i, to, 'null')) {
          k = NULL
          i += 4
        } else if (literal(buf, i, to, 'true')) {
          k = OTHER
          i += 4
        } else if (literal(buf, i, to, 'false')) {
          k = OTHER
          i += 5
        } else return false
        if (id >= 0) {
          if (seen[id] === epoch) return false
          seen[id] = epoch
          kind[id] = k
          start[id] = v0
          end[id] = v1
          num[id] = n
        } else if (buf[k0] < 65 || buf[k0] > 90 || k0 === k1) {
          if (others < MAX_OTHER_KEYS) {
            this.otherStart[others] = k0
            this.otherEnd[others] = k1
          }
          others++
        }
        i = skipSpace(buf, i, to)
        if (i >= to) return false
        if (buf[i] === COMMA) {
          i = skipSpace(buf, i + 1, to)
          continue
        }
        if (buf[i] === CLOSE) {
          i++
          break
        }
        return false
      }
    }
    if (skipSpace(buf, i, to) !== to) return false
    for (let id = 0; id < kind.length; id++) if (seen[id] !== epoch) kind[id] = ABSENT
    this.otherCount = others
    return true
  }

  private nextEpoch(): number {
    this.epoch = (this.epoch + 1) >>> 0
    if (this.epoch === 0) {
      this.seen.fill(0)
      this.epoch = 1
    }
    return this.epoch
  }
}

function skipSpace(buf: Buffer, i: number, to: number): number {
  while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i++
  return i
}

/** Per byte inside a string: 0 for an ordinary character, 1 for the closing quote, 2 for a byte the scanner declines. */
const IN_STRING = new Uint8Array(256)
for (let c = 0; c < 256; c++)
  IN_STRING[c] = c === QUOTE ? 1 : c < SPACE || c >= 128 || c === BACKSLASH ? 2 : 0

/** Where the string starting at i (after its quote) ends (its closing quote), or -1 (escape, control or non-ASCII byte, or no end). */
function stringEnd(buf: Buffer, i: number, to: number): number {
  while (i < to && IN_STRING[buf[i]] === 0) i++
  return i < to && buf[i] === QUOTE ? i : -1
}

/** One or more digits from i: where they end, or -1. */
function digits(buf: Buffer, i: number, to: number): number {
  const d0 = i
  while (i < to && buf[i] >= ZERO && buf[i] <= NINE) i++
  return i === d0 ? -1 : i
}

function literal(buf: Buffer, i: number, to: number, word: string): boolean {
  if (i + word.length > to) return false
  for (let j = 0; j < word.length; j++) if (buf[i + j] !== word.charCodeAt(j)) return false
  return true
}
