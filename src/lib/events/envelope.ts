import { SCHEMA_VERSION } from './catalog.js'

/** Headers never copied into an event: credentials and hop-by-hop noise. */
const DROPPED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
])

const MAX_HEADER_VALUE = 1024

/** Canonical spellings seen so far (a client sends the same few header names on every request). */
const CANONICAL = new Map<string, string>()
const CANONICAL_MAX = 1024

/** `user-agent` → `User-Agent`, the seed's (Werkzeug's) spelling. */
export function canonicalHeaderName(name: string): string {
  let canonical = CANONICAL.get(name)
  if (canonical === undefined) {
    canonical = name
      .toLowerCase()
      .split('-')
      .map((part) => (part ? part[0].toUpperCase() + part.slice(1) : part))
      .join('-')
    if (CANONICAL.size >= CANONICAL_MAX) CANONICAL.clear()
    CANONICAL.set(name, canonical)
  }
  return canonical
}

/** The request headers an event keeps, canonically named, credentials dropped, values bounded. */
export function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || DROPPED_HEADERS.has(name.toLowerCase())) continue
    const text = Array.isArray(value) ? value.join(', ') : value
    out[canonicalHeaderName(name)] = text.length > MAX_HEADER_VALUE ? text.slice(0, MAX_HEADER_VALUE) : text
  }
  return out
}

export interface BuildEventInput {
  type: string
  fields: Record<string, string | number>
  headers: Record<string, string>
  eventId: string
  receivedAt: Date
}

/** The event as produced to Kafka: flat like the seed's, but headers can never override fields or envelope. */
export interface GameEvent {
  event_type: string
  event_id: string
  schema_version: number
  received_at: string
  Host?: string
  [key: string]: string | number | undefined
}

const ENVELOPE_KEYS = new Set(['event_type', 'event_id', 'schema_version', 'received_at'])

export function buildEvent(input: BuildEventInput): GameEvent {
  // A header spelled like a field or envelope key in another case (`Amount` next to `amount`) is
  // dropped too: case-insensitive readers (Spark SQL, DuckDB) would see two columns with one name.
  // (A plain loop: this runs once per API request.)
  const fieldNames = Object.keys(input.fields)
  const taken = fieldNames.map((k) => k.toLowerCase())
  const event: Record<string, string | number> = {}
  for (const name in input.headers) {
    const lower = name.toLowerCase()
    if (ENVELOPE_KEYS.has(lower) || taken.includes(lower)) continue
    event[name] = input.headers[name]
  }
  for (const name of fieldNames) event[name] = input.fields[name]
  event.event_type = input.type
  event.event_id = input.eventId
  event.schema_version = SCHEMA_VERSION
  event.received_at = input.receivedAt.toISOString()
  return event as GameEvent
}

/** The Kafka message key: the player id (Host), so each player's events stay in order. */
export function eventKey(event: GameEvent): string {
  return event.Host ?? ''
}
