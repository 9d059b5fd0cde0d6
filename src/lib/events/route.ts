import { type EventTypeSpec, eventTypeSpec, type TableName } from './catalog.js'
import { sha1Into } from './sha1.js'

/** Where a Kafka message came from. */
export interface MessageMeta {
  topic: string
  partition: number
  /** Kafka offset as a decimal string (kafkajs's representation). */
  offset: string
  /** Kafka message timestamp, ms since epoch. */
  timestamp: number
}

/** One row for one lake table. `timestamp` is ms since epoch (UTC); `dt` is the Hive partition value. */
export type Row = Record<string, string | number | null>

export interface RoutedRow {
  table: TableName
  row: Row
}

export interface RouteResult {
  rows: RoutedRow[]
  /** Set when the message went to `rejected`. */
  rejected?: string
  /** Set when a routed event carried fields its type does not have (see unknownFieldNames). */
  unknownFields?: string[]
}

/** Envelope keys every event may carry besides its type's fields. */
const ENVELOPE_KEYS = ['event_type', 'event_id', 'schema_version', 'received_at']
const KNOWN_KEYS = new WeakMap<EventTypeSpec, ReadonlySet<string>>()

/** The keys an event of this type may carry without being "unknown": the envelope and its catalog fields. */
export function knownKeys(spec: EventTypeSpec): ReadonlySet<string> {
  let known = KNOWN_KEYS.get(spec)
  if (known === undefined) {
    known = new Set([...ENVELOPE_KEYS, ...spec.fields.map((f) => f.name)])
    KNOWN_KEYS.set(spec, known)
  }
  return known
}

/** A request header's name, as the API and the seed store them in events (`Host`, `User-Agent`): an upper-case first letter. */
export function isHeaderName(key: string): boolean {
  const c = key.charCodeAt(0)
  return c >= 65 && c <= 90
}

/**
 * The top-level keys of an event that are neither the envelope, nor its type's catalog fields, nor
 * request headers: fields another producer added. They stay in raw_event only (the tables' columns
 * come from the catalog, so no schema grows by itself); the stream counts them. Pure.
 */
export function unknownFieldNames(
  known: ReadonlySet<string>,
  event: Record<string, unknown>,
): string[] | undefined {
  let out: string[] | undefined
  for (const key in event) if (!isHeaderName(key) && !known.has(key)) (out ??= []).push(key)
  return out
}

/** raw_event keeps at most this many UTF-16 units of the message. */
export const MAX_RAW_EVENT = 64 * 1024

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const digest = new Uint8Array(20)

/** A deterministic UUID (v5-shaped) from the message's coordinates, for events that carry no event_id (seed format). */
export function derivedEventId(meta: Pick<MessageMeta, 'topic' | 'partition' | 'offset'>): string {
  // SHA-1 in JS (sha1.ts): a node:crypto call per event cost more than the hashing itself.
  sha1Into(`${meta.topic}\u0000${meta.partition}\u0000${meta.offset}`, digest)
  const h = digest
  h[6] = (h[6] & 0x0f) | 0x50
  h[8] = (h[8] & 0x3f) | 0x80
  return (
    `${HEX[h[0]]}${HEX[h[1]]}${HEX[h[2]]}${HEX[h[3]]}-${HEX[h[4]]}${HEX[h[5]]}-${HEX[h[6]]}${HEX[h[7]]}-` +
    `${HEX[h[8]]}${HEX[h[9]]}-${HEX[h[10]]}${HEX[h[11]]}${HEX[h[12]]}${HEX[h[13]]}${HEX[h[14]]}${HEX[h[15]]}`
  )
}

/** YYYY-MM-DD of a ms timestamp, UTC. */
export function eventDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** How a value becomes a text column: strings as they are, objects as JSON, the rest as String() gives. */
export function asText(v: unknown): string | null {
  if (v === undefined || v === null) return null
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

function eventTime(event: Record<string, unknown>, meta: MessageMeta): number {
  const received = event.received_at
  if (typeof received === 'string') {
    const ms = Date.parse(received)
    if (Number.isFinite(ms)) return ms
  }
  return meta.timestamp
}

/** Integer text an int field accepts (the seed's "-10"). */
export const INT_TEXT = /^\s*[-+]?\d{1,16}\s*$/

/** Parses an int field: numbers, or the seed's strings such as "-10". */
export function intValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined
  if (typeof v === 'string' && INT_TEXT.test(v)) return Number(v)
  return undefined
}

/**
 * Reads an event's fields by the catalog into `values` (ints as numbers, the rest as asText), and
 * returns the first rule they break, as the `rejected` reason: every field's type first, then the
 * FieldSpec rules (required, positive) in field order. Undefined when the fields are valid.
 */
export function readFields(
  spec: EventTypeSpec,
  event: Record<string, unknown>,
  values: (string | number | null)[],
): string | undefined {
  const fields = spec.fields
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    const v = event[f.name]
    if (f.type === 'int') {
      if (f.optional && (v === undefined || v === null)) {
        values[i] = null
        continue
      }
      const n = intValue(v)
      if (n === undefined) return `${f.name} must be an integer, got ${JSON.stringify(v ?? null)}`
      values[i] = n
    } else values[i] = asText(v)
  }
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    const v = values[i]
    if (f.required && (v === null || v === '')) return `${f.name} is required`
    if (f.positive && typeof v === 'number' && v <= 0) return `${f.name} must be greater than 0`
  }
  return undefined
}

function leading(
  raw: string,
  event: Record<string, unknown>,
  ms: number,
  eventType: string | null,
  meta: MessageMeta,
): Row {
  return {
    raw_event: raw.length > MAX_RAW_EVENT ? raw.slice(0, MAX_RAW_EVENT) : raw,
    timestamp: ms,
    Accept: asText(event.Accept),
    Host: asText(event.Host),
    'User-Agent': asText(event['User-Agent']),
    event_type: eventType,
    dt: eventDate(ms),
    event_id: typeof event.event_id === 'string' && event.event_id ? event.event_id : derivedEventId(meta),
  }
}

/** The `rejected` result for a message: its leading columns, the reason and its Kafka coordinates. */
export function reject(
  raw: string,
  event: Record<string, unknown>,
  meta: MessageMeta,
  reason: string,
): RouteResult {
  const eventType = asText(event.event_type)
  const ms = eventTime(event, meta)
  const row: Row = {
    ...leading(raw, event, ms, eventType, meta),
    reason,
    kafka_topic: meta.topic,
    kafka_partition: meta.partition,
    kafka_offset: Number(meta.offset),
  }
  return { rows: [{ table: 'rejected', row }], rejected: reason }
}

function fieldsOf(spec: EventTypeSpec, event: Record<string, unknown>): Row | string {
  const values: (string | number | null)[] = []
  const reason = readFields(spec, event, values)
  if (reason !== undefined) return reason
  const out: Row = {}
  for (let i = 0; i < spec.fields.length; i++) out[spec.fields[i].name] = values[i]
  return out
}

/** The reason for an event_type the catalog does not have. */
export function unknownType(type: string): string {
  return `unknown event_type "${type.slice(0, 64)}"`
}

/**
 * Routes one Kafka message to its lake tables. Pure: accepts events from `game api` (typed, with an
 * envelope) and seed-format events (headers merged in, amount as a string, no envelope). Anything
 * that cannot be routed goes to `rejected` with a reason; `default` events land nowhere.
 */
export function routeMessage(value: Buffer | string | null, meta: MessageMeta): RouteResult {
  const raw = value === null ? '' : typeof value === 'string' ? value : value.toString('utf8')
  let event: unknown
  try {
    event = JSON.parse(raw)
  } catch {
    return reject(raw, {}, meta, raw === '' ? 'empty message' : 'not valid JSON')
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return reject(raw, {}, meta, 'not a JSON object')
  }
  const obj = event as Record<string, unknown>
  const type = obj.event_type
  if (typeof type !== 'string' || type === '') return reject(raw, obj, meta, 'missing event_type')
  const spec = eventTypeSpec(type)
  if (!spec) return reject(raw, obj, meta, unknownType(type))
  if (spec.tables.length === 0) return { rows: [] }
  const fields = fieldsOf(spec, obj)
  if (typeof fields === 'string') return reject(raw, obj, meta, fields)
  const row: Row = { ...leading(raw, obj, eventTime(obj, meta), type, meta), ...fields }
  const unknownFields = unknownFieldNames(knownKeys(spec), obj)
  const rows = spec.tables.map((table) => ({ table, row }))
  return unknownFields ? { rows, unknownFields } : { rows }
}
