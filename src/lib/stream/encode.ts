import {
  derivedTables,
  EVENT_TYPES,
  type EventTypeSpec,
  LEADING_COLUMNS,
  TABLE_NAMES,
  type TableName,
  TRAILING_COLUMNS,
  tableColumns,
} from '../events/catalog.js'
import {
  asText,
  derivedEventId,
  eventDate,
  MAX_RAW_EVENT,
  type MessageMeta,
  type RouteResult,
  readFields,
  reject,
  routeMessage,
  unknownType,
} from '../events/route.js'
import { CSV_DELIMITER, CSV_MAX_LINE_BYTES, CSV_NULL } from '../lake/parquet.js'
import { ABSENT, ByteNames, INT, NULL, OTHER, PlainJsonScanner, STRING } from './plain-json.js'

/**
 * The stream's hot path: one Kafka message → the line the buffer stores, without building
 * routeMessage's row objects. Two formats:
 * - CSV (`csv: true`), the common case: the table's columns in order, then `__p`, `__o`, separated
 *   by CSV_DELIMITER (U+001F), a null as CSV_NULL (U+0002), nothing quoted or escaped. Used only
 *   when no value can contain those characters or a line break: the raw event is valid JSON (no raw
 *   control characters) without CR/LF, and every text value has no control character (nor
 *   surrogate, so what DuckDB reads back is the same string). DuckDB reads it with read_csv
 *   (lake/parquet.ts), and no JSON escaping is needed on either side.
 * - NDJSON otherwise: byte for byte what `JSON.stringify(routeMessage(value, meta).rows[0].row)`
 *   plus the `__p`/`__o` source columns gives.
 * Three paths, the first that applies: plain events (flat ASCII JSON without escapes, see
 * plain-json.ts) are scanned from their bytes and their CSV line written as bytes, with no
 * JSON.parse; other events are parsed once with JSON.parse; and everything unusual (every
 * rejection, odd timestamps, a catalog shape the fast paths do not know) goes through routeMessage,
 * the readable reference. test/lib/stream/encode.test.ts checks all of them against routeMessage.
 */
export { CSV_DELIMITER, CSV_NULL }

/** A text value the CSV format cannot carry as is. */
const CSV_UNSAFE = /[\u0000-\u001f\ud800-\udfff]/
/** Longest CSV line in UTF-16 units: up to 3 bytes each in UTF-8, within read_csv's CSV_MAX_LINE_BYTES. */
export const MAX_CSV_LINE = Math.floor(CSV_MAX_LINE_BYTES / 3) - 1

/** A line the buffer writes straight into its chunk (MessageEncoder's byte-built CSV lines). */
export interface LineWriter {
  /** The line's length in bytes (without the newline). */
  readonly size: number
  /** Writes the line at buf[pos, pos + size); returns pos + size. */
  write(buf: Buffer, pos: number): number
}

export interface EncodedMessage {
  /**
   * Lake tables the line is buffered for (empty: `default` events, nothing to write). Derived
   * tables (catalog derivedTables: transactions) are not listed: the flush writes them from their
   * sources' Parquet files.
   */
  tables: readonly TableName[]
  /** The Hive partition value (event date). */
  dt: string
  /** The line (without the newline): CSV when `csv`, else NDJSON. '' when `bytes` holds it. */
  line: string
  /**
   * Set instead of `line` for a CSV line built as bytes: the raw event copied from the Kafka record
   * and ASCII cells, never a JS string (see MessageEncoder.encode). Read it before the next call.
   */
  bytes: LineWriter | null
  csv: boolean
  /** Set when the message went to `rejected`. */
  rejected?: string
}

const DAY_MS = 86_400_000
const NO_TABLES: readonly TableName[] = []
const REJECTED: readonly TableName[] = ['rejected']
/** What a message that is not a JSON object has as fields (read-only: never written to). */
const NO_EVENT: Record<string, unknown> = Object.freeze(Object.create(null))
/**
 * The rejected table's columns are the ones rejectOut writes as CSV, in its order (else its rows
 * are NDJSON).
 */
const REJECTED_CSV =
  tableColumns('rejected')
    .map((c) => c.name)
    .join() ===
  'raw_event,timestamp,Accept,Host,User-Agent,event_type,reason,kafka_topic,kafka_partition,kafka_offset,kafka_offset_last,event_id'
/**
 * A raw event (any message, also not JSON) the CSV format cannot carry: control characters but the
 * tab, which JSON allows between tokens and the line format carries, and surrogates.
 */
const RAW_CSV_UNSAFE = /[\u0000-\u0008\u000a-\u001f\ud800-\udfff]/

interface FastSpec {
  spec: EventTypeSpec
  type: string
  tables: readonly TableName[]
  typeJson: string
  fields: { name: string; key: string; int: boolean; required: boolean; positive: boolean }[]
  /** Per field, its key id in KEY_NAMES (the scanned path). */
  fieldKeys: number[]
  /**
   * The CSV cells between event_type and event_id, in the tables' column order: the index of the
   * type's field, or -1 for a column the type does not have (null). Null when the type's tables
   * differ in columns (then the line is NDJSON).
   */
  csvSlots: number[] | null
}

/** The CSV slots of a type (see FastSpec.csvSlots). */
function csvSlots(spec: EventTypeSpec): number[] | null {
  const names = spec.tables.map((t) =>
    tableColumns(t)
      .map((c) => c.name)
      .join('\u0000'),
  )
  if (new Set(names).size !== 1 || CSV_UNSAFE.test(spec.type)) return null
  const cols = tableColumns(spec.tables[0]).map((c) => c.name)
  const lead = LEADING_COLUMNS.map((c) => c.name)
  const trail = TRAILING_COLUMNS.map((c) => c.name)
  if (lead.some((n, i) => cols[i] !== n) || trail.some((n, i) => cols[cols.length - trail.length + i] !== n))
    return null
  const middle = cols.slice(lead.length, cols.length - trail.length)
  const fields = spec.fields.map((f) => f.name)
  if (fields.some((f) => !middle.includes(f))) return null
  return middle.map((name) => fields.indexOf(name))
}

/** The names the plain JSON scanner looks for (KEY_NAMES's order): the leading keys, then the fields. */
const FIELD_KEY_NAMES = [
  ...new Set([
    'event_type',
    'event_id',
    'received_at',
    'Accept',
    'Host',
    'User-Agent',
    ...EVENT_TYPES.flatMap((s) => s.fields.map((f) => f.name)),
  ]),
]

/** Per event type, what the fast path needs, or null when its fields could reorder or shadow the leading keys. */
function fastSpec(spec: EventTypeSpec): FastSpec | null {
  const leading = new Set([...LEADING_COLUMNS.map((c) => c.name), 'dt', 'event_id'])
  for (const f of spec.fields) {
    // Array-index-like keys are ordered first by JSON.stringify; shared names would overwrite.
    if (leading.has(f.name) || /^(0|[1-9]\d*)$/.test(f.name)) return null
  }
  if (new Set(spec.fields.map((f) => f.name)).size !== spec.fields.length) return null
  return {
    spec,
    type: spec.type,
    tables: spec.tables.filter((t) => !DERIVED.has(t)),
    typeJson: JSON.stringify(spec.type),
    csvSlots: spec.tables.length > 0 ? csvSlots(spec) : null,
    fields: spec.fields.map((f) => ({
      name: f.name,
      key: `,${JSON.stringify(f.name)}:`,
      int: f.type === 'int',
      required: f.required === true,
      positive: f.positive === true,
    })),
    fieldKeys: spec.fields.map((f) => FIELD_KEY_NAMES.indexOf(f.name)),
  }
}

/** Tables written from other tables' files at flush, never buffered. */
const DERIVED = derivedTables()

const FAST = new Map<string, FastSpec | null>(EVENT_TYPES.map((s) => [s.type, fastSpec(s)]))

/** The keys the scanned path reads: the leading ones, then every type's fields. */
const KEY_NAMES = new ByteNames(FIELD_KEY_NAMES)
const K_TYPE = 0
const K_ID = 1
const K_RECEIVED = 2
/** Accept, Host, User-Agent: their cells' order. */
const HEADER_KEYS = [3, 4, 5]
/** The event types the scanned path handles, by their name's id in TYPE_NAMES. */
const SCANNED_TYPES: FastSpec[] = []
const TYPE_NAMES = new ByteNames(
  [...FAST.values()]
    .filter((spec): spec is FastSpec => spec !== null && /^[\x20-\x7e]+$/.test(spec.type))
    .map((spec) => {
      SCANNED_TYPES.push(spec)
      return spec.type
    }),
)

function textJson(t: string | null): string {
  return t === null ? 'null' : JSON.stringify(t)
}

function csvCell(t: string | null): string {
  return t === null ? CSV_NULL : t
}

/** Date.parse for the API's own `received_at` (toISOString: YYYY-MM-DDTHH:MM:SS.sssZ); anything else goes to Date.parse. */
function parseReceived(s: string): number {
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
class ReceivedParser {
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
function intText(b: Buffer, start: number, end: number): number {
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

/** The stream passes `meta.offset` as '' (no string per record): filled from the number when needed. */
function withOffset(meta: MessageMeta, offset: number): MessageMeta {
  if (meta.offset === '') meta.offset = String(offset)
  return meta
}

const DELIMITER_BYTE = CSV_DELIMITER.charCodeAt(0)

const CELL_TEXT = 0
const CELL_BYTES = 1
const CELL_INT = 2
/** Cells after the raw event, at most: a table's columns but raw_event, plus __p and __o. */
const MAX_CELLS = Math.max(...TABLE_NAMES.map((t) => tableColumns(t).length)) + 1

/**
 * A CSV line as bytes: the raw event copied from the record, then the cells: ASCII text, bytes of
 * the record, or integers. Only for events whose bytes are all ASCII with no backslash or line
 * break: then every cell is ASCII too (no escape can put a control character, a delimiter or a
 * non-ASCII character in a value), so the line is byte for byte what its string form encodes to in
 * UTF-8, and no string is made for it.
 */
class ByteLine implements LineWriter {
  size = 0
  private src: Buffer = Buffer.alloc(0)
  private start = 0
  private end = 0
  private count = 0
  private readonly kinds = new Uint8Array(MAX_CELLS)
  private readonly texts: string[] = []
  private readonly starts = new Int32Array(MAX_CELLS)
  private readonly ends = new Int32Array(MAX_CELLS)
  private readonly ints = new Float64Array(MAX_CELLS)

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

/** The line an encoder result stands for, as text (tests, debugging). */
export function encodedLine(out: EncodedMessage): string {
  if (out.bytes === null) return out.line
  const buf = Buffer.allocUnsafe(out.bytes.size)
  const end = out.bytes.write(buf, 0)
  if (end !== buf.length) throw new Error(`line writer wrote ${end} of ${buf.length} bytes`)
  return buf.toString('utf8')
}

/**
 * Encodes Kafka messages to buffer lines. One instance per stream: it caches the last event date,
 * and reuses its result object (read it before the next call).
 */
export class MessageEncoder {
  private lastDay = Number.NaN
  private lastDt = ''
  private lastDtJson = ''
  private readonly out: EncodedMessage = {
    tables: NO_TABLES,
    dt: '',
    line: '',
    bytes: null,
    csv: false,
    rejected: undefined,
  }
  private readonly byteLine = new ByteLine()
  private readonly scanner = new PlainJsonScanner(KEY_NAMES)
  private readonly received = new ReceivedParser()
  /** Events encoded by the scanned path (no JSON.parse), for tests and profiling. */
  scannedEvents = 0
  /** Per field of the current event: its text (ints as decimal), reused across calls. */
  private readonly texts: (string | null)[] = []
  /** Per field of the current event: its value as readFields gives it, reused across calls. */
  private readonly values: (string | number | null)[] = []

  /**
   * `meta.offset` may be '' (then `offset` is used); `offset` is the same offset as a number. A
   * Buffer value is its bytes [start, end) (default: all of it).
   */
  encode(
    value: Buffer | string | null,
    meta: MessageMeta,
    offset: number,
    start = 0,
    end = -1,
  ): EncodedMessage {
    if (value === null) return this.reference(value, meta, offset)
    let raw: string
    /** The event's bytes are ASCII without backslash or line break (see ByteLine). */
    let plain = false
    if (typeof value === 'string') raw = value
    else {
      const stop = end < 0 ? value.length : end
      const fast = this.scanned(value, start, stop, meta, offset)
      if (fast !== null) return fast
      raw = value.toString('utf8', start, stop)
      // Fewer characters than bytes: multi-byte UTF-8; U+FFFD: bytes that are not UTF-8.
      plain =
        raw.length === stop - start &&
        raw.indexOf('\\') < 0 &&
        raw.indexOf('\ufffd') < 0 &&
        raw.indexOf('\n') < 0 &&
        raw.indexOf('\r') < 0
    }
    let event: unknown
    try {
      event = JSON.parse(raw)
    } catch {
      return this.rejectOut(raw, NO_EVENT, meta, offset, raw === '' ? 'empty message' : 'not valid JSON')
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      return this.rejectOut(raw, NO_EVENT, meta, offset, 'not a JSON object')
    const obj = event as Record<string, unknown>
    const type = obj.event_type
    if (typeof type !== 'string' || type === '')
      return this.rejectOut(raw, obj, meta, offset, 'missing event_type')
    const spec = FAST.get(type)
    if (spec === undefined) return this.rejectOut(raw, obj, meta, offset, unknownType(type))
    // Shapes the fast path does not cover.
    if (spec === null) return this.reference(raw, meta, offset)
    // `default` events: nothing to write.
    if (spec.tables.length === 0) return this.nothing()
    const out = this.out
    const texts = this.texts
    // The catalog's rules (events/route.ts readFields): the values, or the first rule broken.
    const values = this.values
    const reason = readFields(spec.spec, obj, values)
    if (reason !== undefined) return this.rejectOut(raw, obj, meta, offset, reason)
    let csv =
      spec.csvSlots !== null &&
      raw.length <= MAX_RAW_EVENT &&
      (plain || (raw.indexOf('\n') < 0 && raw.indexOf('\r') < 0))
    for (let i = 0; i < spec.fields.length; i++) {
      const v = values[i]
      if (typeof v === 'number') texts[i] = `${v}`
      else {
        if (csv && !plain && v !== null && CSV_UNSAFE.test(v)) csv = false
        texts[i] = v
      }
    }

    const received = obj.received_at
    let ms = meta.timestamp
    if (typeof received === 'string') {
      const parsed = parseReceived(received)
      if (Number.isFinite(parsed)) ms = parsed
    }
    if (!Number.isSafeInteger(ms)) return this.reference(raw, meta, offset)
    this.setDay(ms)
    const id = obj.event_id
    const eventId = typeof id === 'string' && id ? id : derivedEventId(withOffset(meta, offset))
    const accept = asText(obj.Accept)
    const host = asText(obj.Host)
    const agent = asText(obj['User-Agent'])
    if (
      csv &&
      !plain &&
      ((accept !== null && CSV_UNSAFE.test(accept)) ||
        (host !== null && CSV_UNSAFE.test(host)) ||
        (agent !== null && CSV_UNSAFE.test(agent)) ||
        CSV_UNSAFE.test(eventId))
    ) {
      csv = false
    }
    out.tables = spec.tables
    out.dt = this.lastDt
    out.rejected = undefined
    if (csv && plain) {
      const b = this.byteLine
      b.begin(value as Buffer, start, start + raw.length)
      b.int(ms)
      b.text(csvCell(accept))
      b.text(csvCell(host))
      b.text(csvCell(agent))
      b.text(spec.type)
      for (const slot of spec.csvSlots as number[]) b.text(slot < 0 ? CSV_NULL : csvCell(texts[slot]))
      b.text(eventId)
      b.int(meta.partition)
      b.int(offset)
      if (b.size <= MAX_CSV_LINE) return this.bytesOut(spec)
    }
    out.bytes = null
    if (csv) {
      const D = CSV_DELIMITER
      let line = `${raw}${D}${ms}${D}${csvCell(accept)}${D}${csvCell(host)}${D}${csvCell(agent)}${D}${spec.type}`
      for (const slot of spec.csvSlots as number[])
        line += `${D}${slot < 0 ? CSV_NULL : csvCell(texts[slot])}`
      line += `${D}${eventId}${D}${meta.partition}${D}${offset}`
      if (line.length <= MAX_CSV_LINE) {
        out.line = line
        out.csv = true
        return out
      }
    }
    let fields = ''
    for (let i = 0; i < spec.fields.length; i++) {
      const f = spec.fields[i]
      fields += f.int ? `${f.key}${texts[i]}` : `${f.key}${textJson(texts[i])}`
    }
    const rawEvent = raw.length > MAX_RAW_EVENT ? raw.slice(0, MAX_RAW_EVENT) : raw
    out.csv = false
    out.line =
      `{"raw_event":${JSON.stringify(rawEvent)},"timestamp":${ms}` +
      `,"Accept":${textJson(accept)},"Host":${textJson(host)},"User-Agent":${textJson(agent)}` +
      `,"event_type":${spec.typeJson},"dt":${this.lastDtJson},"event_id":${JSON.stringify(eventId)}` +
      `${fields},"__p":${meta.partition},"__o":${offset}}`
    return out
  }

  /** The result for an event with no table to go to. */
  private nothing(): EncodedMessage {
    const out = this.out
    out.tables = NO_TABLES
    out.dt = ''
    out.line = ''
    out.bytes = null
    out.csv = false
    out.rejected = undefined
    return out
  }

  /** Makes lastDt (and its JSON) the date of `ms`, computed once per day. */
  private setDay(ms: number): void {
    const day = Math.floor(ms / DAY_MS)
    if (day !== this.lastDay) {
      this.lastDt = eventDate(ms)
      this.lastDtJson = JSON.stringify(this.lastDt)
      this.lastDay = day
    }
  }

  /** The result for a byte-built CSV line (this.byteLine) of a `spec` event. */
  private bytesOut(spec: FastSpec): EncodedMessage {
    const out = this.out
    out.tables = spec.tables
    out.dt = this.lastDt
    out.rejected = undefined
    out.line = ''
    out.bytes = this.byteLine
    out.csv = true
    return out
  }

  /**
   * The fastest path: an event the plain JSON scanner reads (plain-json.ts), straight from its bytes
   * to a CSV line, with no JSON.parse and no string per event. Null when anything is off the
   * beaten track (then `encode` goes on with JSON.parse): what it returns is what that path gives.
   */
  private scanned(
    buf: Buffer,
    start: number,
    end: number,
    meta: MessageMeta,
    offset: number,
  ): EncodedMessage | null {
    const sc = this.scanner
    if (end - start > MAX_RAW_EVENT || !sc.scan(buf, start, end)) return null
    const { kind, num } = sc
    if (kind[K_TYPE] !== STRING) return null
    const spec = SCANNED_TYPES[TYPE_NAMES.find(buf, sc.start[K_TYPE], sc.end[K_TYPE])]
    if (spec === undefined) return null
    if (spec.tables.length === 0) return this.nothing()
    const slots = spec.csvSlots
    if (slots === null) return null
    // The fields: ints as JSON integers or integer text, text as strings, integers or null.
    const fieldKeys = spec.fieldKeys
    for (let i = 0; i < fieldKeys.length; i++) {
      const key = fieldKeys[i]
      const k = kind[key]
      if (spec.fields[i].int) {
        if (k === STRING) {
          // The seed's integer text ("-10"): read as routeMessage's intValue would, then an INT.
          const n = intText(buf, sc.start[key], sc.end[key])
          if (Number.isNaN(n)) return null
          kind[key] = INT
          num[key] = n
        } else if (k !== INT) return null
        // A broken rule: the parsed path writes the `rejected` row.
        if (spec.fields[i].positive && num[key] <= 0) return null
      } else if (k === OTHER) return null
      else if (spec.fields[i].required) {
        if (k === ABSENT || k === NULL || (k === STRING && sc.end[key] === sc.start[key])) return null
      }
    }
    // The event time: the API's own received_at format, else (no received_at string) the record's.
    let ms = meta.timestamp
    const rk = kind[K_RECEIVED]
    if (rk === STRING) {
      ms = this.received.parse(buf, sc.start[K_RECEIVED], sc.end[K_RECEIVED])
      if (Number.isNaN(ms)) return null
    }
    if (!Number.isSafeInteger(ms)) return null
    for (const key of HEADER_KEYS) if (kind[key] === OTHER) return null
    this.setDay(ms)
    const b = this.byteLine
    b.begin(buf, start, end)
    b.int(ms)
    for (const key of HEADER_KEYS) this.cell(key)
    b.text(spec.type)
    for (const slot of slots) {
      if (slot < 0) b.text(CSV_NULL)
      else this.cell(fieldKeys[slot])
    }
    if (kind[K_ID] === STRING && sc.end[K_ID] > sc.start[K_ID]) b.bytes(sc.start[K_ID], sc.end[K_ID])
    else b.text(derivedEventId(withOffset(meta, offset)))
    b.int(meta.partition)
    b.int(offset)
    if (b.size > MAX_CSV_LINE) return null
    this.scannedEvents += 1
    return this.bytesOut(spec)
  }

  /** The scanned value of a key as a CSV cell (asText: a string's bytes, an int's digits, else null). */
  private cell(key: number): void {
    const sc = this.scanner
    const k = sc.kind[key]
    if (k === STRING) this.byteLine.bytes(sc.start[key], sc.end[key])
    else if (k === INT) this.byteLine.int(sc.num[key])
    else this.byteLine.text(CSV_NULL)
  }

  /**
   * The `rejected` row for a record batch that does not decode (lean-fetcher forEachRecord's
   * undecodable): offsets first..last of meta's partition, with the reason. `ms` is the batch's
   * max timestamp (the row's date).
   */
  undecodable(meta: MessageMeta, first: number, last: number, reason: string, ms: number): EncodedMessage {
    const when = Number.isSafeInteger(ms) && ms >= 0 && ms < 253_402_300_800_000 ? ms : 0
    const row = {
      raw_event: null,
      timestamp: when,
      Accept: null,
      Host: null,
      'User-Agent': null,
      event_type: null,
      dt: eventDate(when),
      reason: `undecodable record batch: ${reason}`,
      kafka_topic: meta.topic,
      kafka_partition: meta.partition,
      kafka_offset: first,
      kafka_offset_last: last,
      event_id: derivedEventId({ topic: meta.topic, partition: meta.partition, offset: `${first}-${last}` }),
    }
    const out = this.out
    out.rejected = row.reason
    out.csv = false
    out.bytes = null
    out.tables = REJECTED
    out.dt = row.dt
    out.line = `${JSON.stringify(row).slice(0, -1)},"__p":${meta.partition},"__o":${last}}`
    return out
  }

  /**
   * A message that goes to `rejected` with `reason` (`event`: what JSON.parse gave, NO_EVENT when it
   * is not an object). As cheap as a valid event: no second JSON.parse, no row object, and a CSV
   * line when its cells can carry the values (see the file comment); else routeMessage's row.
   */
  private rejectOut(
    raw: string,
    event: Record<string, unknown>,
    meta: MessageMeta,
    offset: number,
    reason: string,
  ): EncodedMessage {
    const received = event.received_at
    let ms = meta.timestamp
    if (typeof received === 'string') {
      const parsed = parseReceived(received)
      if (Number.isFinite(parsed)) ms = parsed
    }
    if (
      !REJECTED_CSV ||
      !Number.isSafeInteger(ms) ||
      raw === '' ||
      raw.length > MAX_RAW_EVENT ||
      RAW_CSV_UNSAFE.test(raw) ||
      CSV_UNSAFE.test(reason)
    ) {
      return this.routed(reject(raw, event, withOffset(meta, offset), reason), meta, offset)
    }
    const id = event.event_id
    const eventId = typeof id === 'string' && id ? id : derivedEventId(withOffset(meta, offset))
    const type = asText(event.event_type)
    const accept = asText(event.Accept)
    const host = asText(event.Host)
    const agent = asText(event['User-Agent'])
    if (
      (type !== null && CSV_UNSAFE.test(type)) ||
      (accept !== null && CSV_UNSAFE.test(accept)) ||
      (host !== null && CSV_UNSAFE.test(host)) ||
      (agent !== null && CSV_UNSAFE.test(agent)) ||
      CSV_UNSAFE.test(eventId) ||
      CSV_UNSAFE.test(meta.topic)
    ) {
      return this.routed(reject(raw, event, withOffset(meta, offset), reason), meta, offset)
    }
    this.setDay(ms)
    const D = CSV_DELIMITER
    const line =
      `${raw}${D}${ms}${D}${csvCell(accept)}${D}${csvCell(host)}${D}${csvCell(agent)}${D}${csvCell(type)}` +
      `${D}${reason}${D}${meta.topic}${D}${meta.partition}${D}${offset}${D}${CSV_NULL}${D}${eventId}` +
      `${D}${meta.partition}${D}${offset}`
    if (line.length > MAX_CSV_LINE) {
      return this.routed(reject(raw, event, withOffset(meta, offset), reason), meta, offset)
    }
    const out = this.out
    out.rejected = reason
    out.tables = REJECTED
    out.dt = this.lastDt
    out.line = line
    out.bytes = null
    out.csv = true
    return out
  }

  /** The readable path: routeMessage, then the row serialized as the buffer always has. */
  private reference(value: Buffer | string | null, meta: MessageMeta, offset: number): EncodedMessage {
    return this.routed(routeMessage(value, withOffset(meta, offset)), meta, offset)
  }

  /** A routeMessage result as the buffer's line: NDJSON of its row plus __p/__o. */
  private routed(routed: RouteResult, meta: MessageMeta, offset: number): EncodedMessage {
    const out = this.out
    out.rejected = routed.rejected
    out.csv = false
    out.bytes = null
    if (routed.rows.length === 0) {
      out.tables = NO_TABLES
      out.dt = ''
      out.line = ''
      return out
    }
    const row = routed.rows[0].row
    out.tables = routed.rejected ? REJECTED : routed.rows.map((r) => r.table).filter((t) => !DERIVED.has(t))
    out.dt = String(row.dt)
    out.line = `${JSON.stringify(row).slice(0, -1)},"__p":${meta.partition},"__o":${offset}}`
    return out
  }
}
