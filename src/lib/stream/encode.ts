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
  INT_TEXT,
  isHeaderName,
  knownKeys,
  MAX_RAW_EVENT,
  type MessageMeta,
  type RouteResult,
  readFields,
  reject,
  routeMessage,
  unknownFieldNames,
  unknownType,
} from '../events/route.js'
import { CSV_DELIMITER, CSV_MAX_LINE_BYTES, CSV_NULL } from '../lake/parquet.js'
import { ByteLine, intText, type LineWriter, parseReceived, ReceivedParser } from './byte-line.js'
import {
  ABSENT,
  ByteNames,
  INT,
  MAX_OTHER_KEYS,
  NULL,
  OTHER,
  PlainJsonScanner,
  STRING,
} from './plain-json.js'

export type { LineWriter }
/**
 * The stream's hot path: one Kafka message → the line the buffer stores, without building
 * routeMessage's row objects. Two formats:
 * - CSV (`csv: true`), the common case: the table's columns in order, then `__p`, `__o`, separated
 *   by CSV_DELIMITER (U+001F), a null as CSV_NULL (U+0002), nothing quoted or escaped. Used only
 *   when no value can contain those characters or a line break: the raw event is valid JSON (no raw
 *   control characters) without CR/LF, and every text value has no control character (nor
 *   surrogate, so what DuckDB reads back is the same string). DuckDB reads it with read_csv
 *   (lake/parquet.ts), and no JSON escaping is needed on either side. A rejected message's raw
 *   event need not be JSON: it must have no control character but the tab.
 * - NDJSON otherwise: byte for byte what `JSON.stringify(routeMessage(value, meta).rows[0].row)`
 *   plus the `__p`/`__o` source columns gives.
 * Three paths, the first that applies: plain events (flat ASCII JSON without escapes, see
 * plain-json.ts) are scanned from their bytes and their CSV line written as bytes (byte-line.ts),
 * with no JSON.parse; other events are parsed once with JSON.parse, rejections included (the
 * catalog's rules through route.ts readFields; the reason and Kafka coordinates written as cells);
 * and everything unusual (odd timestamps, a catalog shape the fast paths do not know, a null value)
 * goes through routeMessage, the readable reference. test/lib/stream/encode.test.ts checks all of
 * them against routeMessage.
 */
export { CSV_DELIMITER, CSV_NULL }

/** Cells after the raw event, at most: a table's columns but raw_event, plus __p and __o. */
const MAX_CELLS = Math.max(...TABLE_NAMES.map((t) => tableColumns(t).length)) + 1

/** A text value the CSV format cannot carry as is. */
const CSV_UNSAFE = /[\u0000-\u001f\ud800-\udfff]/
/** Longest CSV line in UTF-16 units: up to 3 bytes each in UTF-8, within read_csv's CSV_MAX_LINE_BYTES. */
export const MAX_CSV_LINE = Math.floor(CSV_MAX_LINE_BYTES / 3) - 1

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
  /**
   * Set when a routed event carried fields its type does not have (routeMessage's unknownFields;
   * the order may differ). They are in raw_event only; the stream counts them.
   */
  unknownFields?: readonly string[]
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
/** Text a byte-built cell can carry: printable ASCII. */
const CSV_TEXT = /^[\x20-\x7e]*$/

interface FastSpec {
  spec: EventTypeSpec
  type: string
  tables: readonly TableName[]
  typeJson: string
  fields: {
    name: string
    key: string
    int: boolean
    optional: boolean
    required: boolean
    positive: boolean
  }[]
  /** Per field, its key id in KEY_NAMES (the scanned path). */
  fieldKeys: number[]
  /**
   * The CSV cells between event_type and event_id, in the tables' column order: the index of the
   * type's field, or -1 for a column the type does not have (null). Null when the type's tables
   * differ in columns (then the line is NDJSON).
   */
  csvSlots: number[] | null
  /** Keys that are not unknown fields for this type (route.ts knownKeys). */
  known: ReadonlySet<string>
  /** Key ids (KEY_NAMES) of other types' fields: unknown fields when an event of this type has them. */
  foreignKeys: number[]
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
    // Looked for only so that the scanner does not report it as another key (it is envelope).
    'schema_version',
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
      optional: f.optional === true,
      required: f.required === true,
      positive: f.positive === true,
    })),
    fieldKeys: spec.fields.map((f) => FIELD_KEY_NAMES.indexOf(f.name)),
    known: knownKeys(spec),
    // The envelope keys are known, the headers are headers (route.ts unknownFieldNames' rule).
    foreignKeys: FIELD_KEY_NAMES.flatMap((name, id) =>
      !knownKeys(spec).has(name) && !isHeaderName(name) ? [id] : [],
    ),
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

/**
 * False when JSON.parse(s) must throw: s is empty or blank, or its first character after JSON's
 * whitespace (space, tab, LF, CR) starts no JSON value (`{ [ " - 0-9 t f n`).
 */
export function mayBeJson(s: string): boolean {
  let i = 0
  let c = s.charCodeAt(0)
  while (c === 32 || c === 9 || c === 10 || c === 13) c = s.charCodeAt(++i)
  return (
    c === 123 || // {
    c === 91 || // [
    c === 34 || // "
    c === 45 || // -
    (c >= 48 && c <= 57) ||
    c === 116 || // t
    c === 102 || // f
    c === 110 // n
  )
}

/** The stream passes `meta.offset` as '' (no string per record): filled from the number when needed. */
function withOffset(meta: MessageMeta, offset: number): MessageMeta {
  if (meta.offset === '') meta.offset = String(offset)
  return meta
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
    unknownFields: undefined,
  }
  private readonly byteLine = new ByteLine(MAX_CELLS)
  private readonly scanner = new PlainJsonScanner(KEY_NAMES)
  private readonly received = new ReceivedParser()
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
    this.out.unknownFields = undefined
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
    // Junk (a log line, HTML, text): no JSON value can start with its first character, so skip the
    // thrown SyntaxError (its message and stack cost several valid events).
    if (!mayBeJson(raw)) {
      return this.rejectOut(raw, NO_EVENT, meta, offset, raw === '' ? 'empty message' : 'not valid JSON')
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
    out.unknownFields = unknownFieldNames(spec.known, obj)
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
    const { kind } = sc
    const tk = kind[K_TYPE]
    // Rejections are written here too (as `rejected` lines) when the reason can be told from the
    // bytes; anything else is left to the parsed path.
    let reason: string | undefined
    let spec: FastSpec | undefined
    if (
      tk === ABSENT ||
      tk === NULL ||
      tk === INT ||
      (tk === STRING && sc.end[K_TYPE] === sc.start[K_TYPE])
    ) {
      reason = 'missing event_type'
    } else if (tk !== STRING) return null
    else {
      spec = SCANNED_TYPES[TYPE_NAMES.find(buf, sc.start[K_TYPE], sc.end[K_TYPE])]
      if (spec === undefined) {
        const type = buf.toString('latin1', sc.start[K_TYPE], sc.end[K_TYPE])
        // A catalog type the scanned path does not cover: the parsed path.
        if (FAST.has(type)) return null
        reason = unknownType(type)
      }
    }
    if (spec !== undefined) {
      if (spec.tables.length === 0) return this.nothing()
      if (spec.csvSlots === null) return null
      const broken = this.scannedFields(spec, buf)
      if (broken === null) return null
      reason = broken
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
    if (reason !== undefined && (!REJECTED_CSV || !CSV_TEXT.test(meta.topic))) return null
    this.setDay(ms)
    const b = this.byteLine
    b.begin(buf, start, end)
    b.int(ms)
    for (const key of HEADER_KEYS) this.cell(key)
    if (reason !== undefined) {
      this.cell(K_TYPE)
      b.text(reason)
      b.text(meta.topic)
      b.int(meta.partition)
      b.int(offset)
      b.text(CSV_NULL)
    } else {
      const s = spec as FastSpec
      b.text(s.type)
      for (const slot of s.csvSlots as number[]) {
        if (slot < 0) b.text(CSV_NULL)
        else this.cell(s.fieldKeys[slot])
      }
    }
    if (kind[K_ID] === STRING && sc.end[K_ID] > sc.start[K_ID]) b.bytes(sc.start[K_ID], sc.end[K_ID])
    else b.text(derivedEventId(withOffset(meta, offset)))
    b.int(meta.partition)
    b.int(offset)
    if (b.size > MAX_CSV_LINE) return null
    if (reason === undefined) {
      // Fields of no catalog type, then other types' fields (none on the beaten track: no cost).
      let unknown: string[] | undefined
      if (sc.otherCount > 0) {
        if (sc.otherCount > MAX_OTHER_KEYS) return null
        unknown = []
        for (let j = 0; j < sc.otherCount; j++)
          unknown.push(buf.toString('latin1', sc.otherStart[j], sc.otherEnd[j]))
      }
      for (const key of (spec as FastSpec).foreignKeys)
        if (kind[key] !== ABSENT) (unknown ??= []).push(FIELD_KEY_NAMES[key])
      // A key twice (JSON.parse keeps one): named once.
      if (unknown !== undefined && unknown.length > 1) unknown = [...new Set(unknown)]
      const out = this.bytesOut(spec as FastSpec)
      out.unknownFields = unknown
      return out
    }
    const out = this.out
    out.tables = REJECTED
    out.dt = this.lastDt
    out.rejected = reason
    out.line = ''
    out.bytes = b
    out.csv = true
    return out
  }

  /**
   * The scanned fields of a `spec` event by the catalog's rules, as readFields (events/route.ts)
   * reads them: undefined when valid (string ints turned into INTs), the first rule broken, or null
   * when only the parsed path can tell (a float, true/false, 16-digit integer text).
   */
  private scannedFields(spec: FastSpec, buf: Buffer): string | undefined | null {
    const { kind, num, start, end } = this.scanner
    const fieldKeys = spec.fieldKeys
    // Types first, in field order: ints as JSON integers or integer text; text as strings,
    // integers or null.
    for (let i = 0; i < fieldKeys.length; i++) {
      const key = fieldKeys[i]
      const k = kind[key]
      const f = spec.fields[i]
      if (f.int) {
        if (k === STRING) {
          // The seed's integer text ("-10"): read as routeMessage's intValue would, then an INT.
          const n = intText(buf, start[key], end[key])
          if (Number.isNaN(n)) {
            const text = buf.toString('latin1', start[key], end[key])
            // Integer text of 16 digits is an integer to routeMessage, not exact here.
            if (INT_TEXT.test(text)) return null
            // A plain string: JSON.stringify only adds the quotes.
            return `${f.name} must be an integer, got "${text}"`
          }
          kind[key] = INT
          num[key] = n
        } else if (k === ABSENT || k === NULL) {
          // An optional int is NULL (cell() writes it); else the parsed path's reason.
          if (!f.optional) return `${f.name} must be an integer, got null`
        } else if (k !== INT) return null
      } else if (k === OTHER) return null
    }
    // Then the rules, in field order.
    for (let i = 0; i < fieldKeys.length; i++) {
      const key = fieldKeys[i]
      const k = kind[key]
      const f = spec.fields[i]
      if (f.required && (k === ABSENT || k === NULL || (k === STRING && end[key] === start[key])))
        return `${f.name} is required`
      if (f.positive && k === INT && num[key] <= 0) return `${f.name} must be greater than 0`
    }
    return undefined
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
    out.unknownFields = undefined
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
    out.unknownFields = routed.unknownFields
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
