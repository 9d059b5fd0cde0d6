/**
 * THE event catalog: one table drives the API routes, input validation, event fields, the Parquet
 * schema of each lake table and the stream's routing. Adding an event type is one entry in
 * EVENT_TYPES (and, for a new table, one entry in TABLES).
 */

export type HttpMethod = 'GET' | 'POST'
export type FieldType = 'string' | 'int'

/** A request parameter (query string, or JSON/form body for POST). */
export interface ParamSpec {
  name: string
  type: FieldType
  required: boolean
  /** For strings: the maximum length in bytes of UTF-8. */
  maxBytes?: number
  /** For ints: must be > 0. */
  positive?: boolean
  /** For ints: an upper bound. */
  max?: number
  /** Used when the parameter is absent and not required. */
  default?: string | number
}

/**
 * A field of the event (and a column of the tables it lands in), with the rules the stream checks:
 * an event that breaks one goes to `rejected` with the rule as its reason (events/route.ts).
 */
export interface FieldSpec {
  name: string
  type: FieldType
  /**
   * Absent or null is NULL rather than a rejection. Text fields are NULL when absent anyway; an int
   * field added to a type later should be optional, or every event from producers that do not send
   * it yet goes to `rejected`.
   */
  optional?: boolean
  /** Missing, null or empty text is rejected: "<name> is required". */
  required?: boolean
  /** For ints: a value <= 0 is rejected: "<name> must be greater than 0". */
  positive?: boolean
}

export interface Prices {
  sword: number
  knife: number
}

export interface EventTypeSpec {
  type: string
  routes: { method: HttpMethod; path: string }[]
  params: ParamSpec[]
  /** The event's own fields, in column order. */
  fields: FieldSpec[]
  /** Builds the fields from validated params. Never sees headers. */
  build(params: Record<string, string | number | undefined>, prices: Prices): Record<string, string | number>
  /** The seed's text/plain answer. */
  response: string
  /** Lake tables the event lands in. */
  tables: TableName[]
}

export const MAX_STRING_BYTES = 256
export const MAX_MESSAGE_BYTES = 4096
export const MAX_AMOUNT = 1_000_000_000

const amountField: FieldSpec = { name: 'amount', type: 'int' }
const descriptionField: FieldSpec = { name: 'description', type: 'string' }

export const EVENT_TYPES: readonly EventTypeSpec[] = [
  {
    type: 'default',
    routes: [{ method: 'GET', path: '/' }],
    params: [],
    fields: [],
    build: () => ({}),
    response: 'This is the default response!\n',
    tables: [],
  },
  {
    type: 'purchase_sword',
    routes: [{ method: 'GET', path: '/purchase_a_sword' }],
    params: [
      { name: 'sword_type', type: 'string', required: false, maxBytes: MAX_STRING_BYTES, default: '' },
    ],
    fields: [amountField, descriptionField],
    build: (p, prices) => ({ amount: -prices.sword, description: String(p.sword_type ?? '') }),
    response: 'Sword Purchased!\n',
    tables: ['purchases', 'transactions'],
  },
  {
    type: 'purchase_knife',
    routes: [{ method: 'GET', path: '/purchase_a_knife' }],
    params: [
      { name: 'knife_type', type: 'string', required: false, maxBytes: MAX_STRING_BYTES, default: '' },
    ],
    fields: [amountField, descriptionField],
    build: (p, prices) => ({ amount: -prices.knife, description: String(p.knife_type ?? '') }),
    response: 'Knife Purchased!\n',
    tables: ['purchases', 'transactions'],
  },
  {
    type: 'add_money',
    routes: [{ method: 'GET', path: '/add_money' }],
    params: [{ name: 'amount', type: 'int', required: true, positive: true, max: MAX_AMOUNT }],
    fields: [{ ...amountField, positive: true }, descriptionField],
    build: (p) => ({ amount: Number(p.amount), description: 'money' }),
    response: 'Money Added!\n',
    tables: ['add_money', 'transactions'],
  },
  {
    type: 'join_guild',
    routes: [{ method: 'GET', path: '/join_guild' }],
    params: [{ name: 'guild_name', type: 'string', required: true, maxBytes: MAX_STRING_BYTES }],
    fields: [{ name: 'guild_name', type: 'string', required: true }],
    build: (p) => ({ guild_name: String(p.guild_name) }),
    response: 'Joined Guild!\n',
    tables: ['guild_membership'],
  },
  {
    type: 'cancel_membership',
    routes: [{ method: 'GET', path: '/cancel_membership' }],
    params: [
      { name: 'guild_name', type: 'string', required: false, maxBytes: MAX_STRING_BYTES, default: '' },
      { name: 'cancel_reason', type: 'string', required: false, maxBytes: MAX_STRING_BYTES, default: '' },
    ],
    fields: [
      { name: 'guild_name', type: 'string' },
      { name: 'cancel_reason', type: 'string' },
    ],
    build: (p) => ({ guild_name: String(p.guild_name ?? ''), cancel_reason: String(p.cancel_reason ?? '') }),
    response: 'Membership Cancelled!\n',
    tables: ['cancel_membership'],
  },
  {
    type: 'mensaje',
    routes: [
      { method: 'GET', path: '/messages' },
      { method: 'POST', path: '/messages' },
    ],
    params: [{ name: 'message', type: 'string', required: true, maxBytes: MAX_MESSAGE_BYTES }],
    fields: [{ name: 'message_post', type: 'string' }],
    build: (p) => ({ message_post: String(p.message) }),
    response: 'Message Posted!\n',
    tables: ['messages'],
  },
]

export const TABLE_NAMES = [
  'purchases',
  'add_money',
  'transactions',
  'guild_membership',
  'cancel_membership',
  'messages',
  'rejected',
] as const
export type TableName = (typeof TABLE_NAMES)[number]

export type ColumnType = 'VARCHAR' | 'BIGINT' | 'TIMESTAMP'
export interface ColumnSpec {
  name: string
  type: ColumnType
}

/** The seed's leading columns, in order, shared by every table. */
export const LEADING_COLUMNS: readonly ColumnSpec[] = [
  { name: 'raw_event', type: 'VARCHAR' },
  { name: 'timestamp', type: 'TIMESTAMP' },
  { name: 'Accept', type: 'VARCHAR' },
  { name: 'Host', type: 'VARCHAR' },
  { name: 'User-Agent', type: 'VARCHAR' },
  { name: 'event_type', type: 'VARCHAR' },
]
/** The trailing column every table ends with. */
export const TRAILING_COLUMNS: readonly ColumnSpec[] = [{ name: 'event_id', type: 'VARCHAR' }]
/** The `rejected` table's own columns (between the leading and trailing ones). */
export const REJECTED_COLUMNS: readonly ColumnSpec[] = [
  { name: 'reason', type: 'VARCHAR' },
  { name: 'kafka_topic', type: 'VARCHAR' },
  { name: 'kafka_partition', type: 'BIGINT' },
  { name: 'kafka_offset', type: 'BIGINT' },
  // Set for a record batch the stream could not decode (CRC, codec, corrupt records): the offset
  // range is kafka_offset..kafka_offset_last. Null for a single rejected message.
  { name: 'kafka_offset_last', type: 'BIGINT' },
]

/** Hive partition column under each table: dt=YYYY-MM-DD (event date, UTC). */
export const PARTITION_COLUMN = 'dt'

function columnType(type: FieldType): ColumnType {
  return type === 'int' ? 'BIGINT' : 'VARCHAR'
}

/** A table's columns: the seed's leading columns, then the union of its event types' fields, then event_id. */
export function tableColumns(table: TableName): ColumnSpec[] {
  const middle: ColumnSpec[] = []
  if (table === 'rejected') {
    middle.push(...REJECTED_COLUMNS)
  } else {
    const seen = new Set<string>()
    for (const spec of EVENT_TYPES) {
      if (!spec.tables.includes(table)) continue
      for (const f of spec.fields) {
        if (seen.has(f.name)) continue
        seen.add(f.name)
        middle.push({ name: f.name, type: columnType(f.type) })
      }
    }
  }
  return [...LEADING_COLUMNS, ...middle, ...TRAILING_COLUMNS]
}

/**
 * Tables whose rows are exactly the union of other tables' rows (transactions = purchases +
 * add_money), derived from the catalog: every type landing in table T also lands in exactly one
 * source table S with the same columns, and every type of S lands in T. The stream writes such a
 * table from its sources' Parquet files instead of routing each row twice. Pure.
 */
export function derivedTables(): ReadonlyMap<TableName, readonly TableName[]> {
  const sig = (t: TableName) =>
    tableColumns(t)
      .map((c) => `${c.name}:${c.type}`)
      .join(',')
  const typesOf = (t: TableName) => EVENT_TYPES.filter((s) => s.tables.includes(t)).map((s) => s.type)
  const out = new Map<TableName, TableName[]>()
  for (const table of TABLE_NAMES) {
    const types = typesOf(table)
    if (types.length === 0) continue
    const sources = new Set<TableName>()
    let ok = true
    for (const spec of EVENT_TYPES.filter((s) => s.tables.includes(table))) {
      const candidates = spec.tables.filter(
        (s) => s !== table && sig(s) === sig(table) && typesOf(s).every((t) => types.includes(t)),
      )
      if (candidates.length !== 1) ok = false
      else sources.add(candidates[0])
    }
    if (ok && sources.size > 0) out.set(table, [...sources])
  }
  // A source that is itself derived would need an order; not needed by the catalog, so not supported.
  for (const [t, sources] of out) if (sources.some((s) => out.has(s))) out.delete(t)
  return out
}

const BY_TYPE = new Map(EVENT_TYPES.map((s) => [s.type, s]))

export function eventTypeSpec(type: string): EventTypeSpec | undefined {
  return BY_TYPE.get(type)
}

/** Every (method, path) → spec, for the API's router. */
export function routeTable(): Map<string, EventTypeSpec> {
  const routes = new Map<string, EventTypeSpec>()
  for (const spec of EVENT_TYPES) for (const r of spec.routes) routes.set(`${r.method} ${r.path}`, spec)
  return routes
}

export const DEFAULT_PRICES: Prices = { sword: 10, knife: 10 }
export const SCHEMA_VERSION = 1
