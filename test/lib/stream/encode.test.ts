import { describe, expect, it } from 'vitest'
import { derivedTables, EVENT_TYPES, type TableName, tableColumns } from '../../../src/lib/events/catalog.js'
import { buildEvent } from '../../../src/lib/events/envelope.js'
import { type MessageMeta, routeMessage } from '../../../src/lib/events/route.js'
import { intLength, putInt } from '../../../src/lib/stream/byte-line.js'
import {
  CSV_DELIMITER,
  CSV_NULL,
  type EncodedMessage,
  MessageEncoder,
  mayBeJson,
} from '../../../src/lib/stream/encode.js'
import { seededRandom } from '../../helpers/random.js'
import { CountingEncoder, encodedLine } from './encoded.js'

const DAY = Date.UTC(2026, 10, 28, 12)

/** Written at flush from their sources' files, so never buffered (checked below). */
const DERIVED = derivedTables()

/** The reference: routeMessage, the row serialized as RowBuffer.add does. */
function reference(value: Buffer | string | null, meta: MessageMeta, offset: number) {
  const r = routeMessage(value, meta)
  if (r.rows.length === 0) return { tables: [], dt: '', line: '', rejected: r.rejected }
  const row = r.rows[0].row
  return {
    tables: r.rows.map((x) => x.table).filter((t) => !DERIVED.has(t)),
    dt: String(row.dt),
    line: `${JSON.stringify(row).slice(0, -1)},"__p":${meta.partition},"__o":${offset}}`,
    rejected: r.rejected,
    unknownFields: r.unknownFields,
  }
}

const sorted = (names: readonly string[] | undefined) => (names ? [...names].sort() : undefined)

/**
 * A buffer line as the row DuckDB reads from it (lake/parquet.ts): every column of the table plus
 * __p/__o, ints as numbers, absent as null. CSV cells split on the delimiter, CSV_NULL is null.
 */
function rowOf(line: string, csv: boolean, table: TableName): Record<string, unknown> {
  const cols = [...tableColumns(table), { name: '__p', type: 'BIGINT' }, { name: '__o', type: 'BIGINT' }]
  if (csv) {
    const cells = line.split(CSV_DELIMITER)
    expect(cells.length, line.slice(0, 80)).toBe(cols.length)
    return Object.fromEntries(
      cols.map((c, i) => [
        c.name,
        cells[i] === CSV_NULL ? null : c.type === 'VARCHAR' ? cells[i] : Number(cells[i]),
      ]),
    )
  }
  const o = JSON.parse(line)
  return Object.fromEntries(cols.map((c) => [c.name, o[c.name] ?? null]))
}

let csvLines = 0
let byteLines = 0
let jsonFastLines = 0
let rejectedCsvLines = 0
let rejectedByteLines = 0

/** The encoder's result against the reference: same tables, date, reason, and row (NDJSON lines byte for byte). */
function expectSame(got: EncodedMessage, want: ReturnType<typeof reference>, label: string): void {
  expect(
    { tables: [...got.tables], dt: got.dt, rejected: got.rejected, unknown: sorted(got.unknownFields) },
    label,
  ).toEqual({
    tables: want.tables,
    dt: want.dt,
    rejected: want.rejected,
    unknown: sorted('unknownFields' in want ? want.unknownFields : undefined),
  })
  const line = encodedLine(got)
  if (!want.line) {
    expect(line, label).toBe('')
    expect(got.bytes, label).toBeNull()
    return
  }
  const table = want.tables[0] as TableName
  expect(rowOf(line, got.csv, table), label).toEqual(rowOf(want.line, false, table))
  if (got.bytes) {
    expect(got.csv, label).toBe(true)
    expect(got.line, label).toBe('')
    byteLines += 1
  }
  if (got.csv) {
    csvLines += 1
    if (want.rejected) rejectedCsvLines += 1
    if (want.rejected && got.bytes) rejectedByteLines += 1
  } else {
    expect(line, label).toBe(want.line)
    if (!want.rejected) jsonFastLines += 1
  }
}

/**
 * Encodes a value as a string (or Buffer) and as bytes framed inside a larger buffer (as the stream
 * passes a record's value: the fetch buffer with start/end), and checks both against the reference.
 */
function check(
  enc: MessageEncoder,
  value: Buffer | string | null,
  meta: MessageMeta,
  offset: number,
  label: string,
) {
  const want = reference(value, meta, offset)
  expectSame(enc.encode(value, meta, offset), want, label)
  if (value === null) return
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  const framed = Buffer.concat([Buffer.from('{"x'), bytes, Buffer.from('\\\n\u00e9')])
  expectSame(enc.encode(framed, meta, offset, 3, 3 + bytes.length), want, `${label} (framed bytes)`)
}

const fieldsFor: Record<string, Record<string, string | number>> = {
  default: {},
  purchase_sword: { amount: -10, description: 'sharp' },
  purchase_knife: { amount: -10, description: 'small' },
  add_money: { amount: 25, description: 'money' },
  join_guild: { guild_name: 'knights' },
  cancel_membership: { guild_name: 'knights', cancel_reason: 'bored' },
  mensaje: { message_post: 'hola mundo' },
}

const api = (type: string, extra: Record<string, unknown> = {}, at = new Date(DAY)) =>
  JSON.stringify({
    ...buildEvent({
      type,
      fields: fieldsFor[type] ?? {},
      headers: { Host: 'user1.comcast.com', 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' },
      eventId: '00000000-0000-4000-8000-000000000001',
      receivedAt: at,
    }),
    ...extra,
  })
const seed = (event: Record<string, unknown>) =>
  JSON.stringify({ Host: 'user1.comcast.com', 'User-Agent': 'ApacheBench/2.3', Accept: '*/*', ...event })

function corpus(): (Buffer | string | null)[] {
  const c: (Buffer | string | null)[] = []
  // Every catalog type, as the API and as the seed produce it.
  for (const spec of EVENT_TYPES) {
    c.push(api(spec.type))
    c.push(Buffer.from(api(spec.type)))
    const f = fieldsFor[spec.type] ?? {}
    c.push(seed({ event_type: spec.type, ...f }))
    c.push(
      seed({
        event_type: spec.type,
        ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, String(v)])),
      }),
    )
    c.push(seed({ event_type: spec.type })) // missing fields
  }
  // Rejections.
  c.push(null, '', ' ', 'not json', '{"event_type":', '[]', '[1]', '42', '"str"', 'null', 'true')
  c.push('{}', seed({}), seed({ event_type: '' }), seed({ event_type: 5 }), seed({ event_type: null }))
  c.push(seed({ event_type: 'fly' }), seed({ event_type: 'x'.repeat(500) }))
  for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) c.push(seed({ event_type: t }))
  for (const amount of [
    1.5,
    '1.5',
    'abc',
    1e20,
    '12345678901234567',
    Number.MAX_SAFE_INTEGER + 2,
    true,
    null,
    {},
    [],
  ]) {
    c.push(seed({ event_type: 'purchase_sword', amount, description: 'd' }))
  }
  for (const amount of [0, -5, '-5', '0', ' 25 ', '+25', '0025', '-0', 1, Number.MAX_SAFE_INTEGER]) {
    c.push(seed({ event_type: 'add_money', amount }))
    c.push(api('add_money', { amount }))
  }
  for (const guild_name of [undefined, null, '', 0, false, ' ', { a: 1 }, ['x']]) {
    c.push(seed({ event_type: 'join_guild', guild_name }))
  }
  // Unicode, escapes, invalid UTF-8, huge values, nested objects.
  c.push(api('mensaje', { message_post: 'héllo 😀 e\u0301 \u2028\u2029 \u0000 "q" \\ \t' }))
  c.push('{"event_type":"mensaje","message_post":"\\ud800 lone \\udfff","Host":"\\u0041"}')
  c.push(
    Buffer.concat([
      Buffer.from('{"event_type":"mensaje","message_post":"bad '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]),
  )
  c.push(Buffer.from([0xff, 0xfe, 0x00]))
  c.push(api('mensaje', { message_post: 'x'.repeat(100_000) }))
  c.push(api('mensaje', { message_post: '😀'.repeat(40_000) })) // the 64 KiB cut splits a surrogate pair
  c.push(seed({ event_type: 'mensaje', message_post: 'y'.repeat(65_536 - 40) }))
  c.push(
    seed({
      event_type: 'purchase_knife',
      amount: -10,
      description: { nested: [1, { deep: true }] },
      Host: { h: 1 },
    }),
  )
  c.push(
    seed({
      event_type: 'cancel_membership',
      guild_name: ['a', 'b'],
      cancel_reason: 3.25,
      Accept: 12,
      'User-Agent': false,
    }),
  )
  // Characters the CSV line cannot carry: its delimiter and null marker, line breaks in the raw
  // event (whitespace between tokens), control characters, surrogates; and ones it can.
  c.push('{"event_type":"mensaje",\n"message_post":"m"}', '{"event_type":"mensaje",\r"message_post":"m"}')
  c.push('{"event_type":"mensaje",\t"message_post":"tab between tokens"}')
  c.push(
    seed({ event_type: 'join_guild', guild_name: 'a\u001fb' }),
    seed({ event_type: 'join_guild', guild_name: '\u0002' }),
  )
  c.push(
    seed({ event_type: 'mensaje', message_post: 'line\nbreak' }),
    seed({ event_type: 'mensaje', Host: 'h\u001f' }),
  )
  c.push(seed({ event_type: 'mensaje', message_post: 'x', 'User-Agent': 'ua\u007f\u0080 ok' }))
  c.push(seed({ event_type: 'purchase_sword', amount: -10, description: '  spaced  ', Accept: '' }))
  c.push(seed({ event_type: 'purchase_sword', amount: -10, description: '\u0002' }))
  // Duplicate keys (the last wins in JSON.parse) and headers colliding with fields.
  c.push('{"event_type":"mensaje","message_post":"a","message_post":"b"}')
  c.push('{"event_type":"default","event_type":"mensaje","message_post":"m"}')
  c.push('{"event_type":"add_money","amount":"5","amount":-5}')
  c.push(
    '{"Host":"a","Host":"b","event_type":"join_guild","guild_name":"g","Amount":"7","amount":3,"event_id":""}',
  )
  c.push(
    seed({
      event_type: 'purchase_sword',
      amount: '-10',
      description: 'd',
      Amount: 99,
      EVENT_TYPE: 'x',
      dt: 'nope',
      raw_event: 'r',
      __p: 9,
      __o: 9,
    }),
  )
  // event_id variants (derived when missing, empty or not a string).
  for (const event_id of [undefined, '', 7, null, 'custom-id', { id: 1 }]) {
    c.push(seed({ event_type: 'join_guild', guild_name: 'g', event_id }))
  }
  // received_at variants.
  const receivedAts: unknown[] = [
    '2026-11-28T10:00:00.000Z',
    '2026-11-28T10:00:00.456Z',
    '2026-11-28T10:00:00Z',
    '2026-11-28T10:00:00.123+02:00',
    '2026-11-28',
    '2026-02-29T00:00:00.000Z',
    '2024-02-29T23:59:59.999Z',
    '2026-04-31T00:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-11-28T24:00:00.000Z',
    '2026-11-28T23:60:00.000Z',
    '2026-11-28t10:00:00.000z',
    '0050-01-01T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '+275760-09-13T00:00:00.000Z',
    '-000001-01-01T00:00:00.000Z',
    '2026-1a-28T10:00:00.000Z',
    '2026-11-28T1:00:00.0000Z',
    'garbage',
    '',
    1_700_000_000_000,
    null,
    { at: 1 },
  ]
  for (const received_at of receivedAts) c.push(api('add_money', { received_at }))
  return c
}

describe('derivedTables', () => {
  it('derives transactions from purchases and add_money, and nothing else', () => {
    expect([...DERIVED]).toEqual([['transactions', ['purchases', 'add_money']]])
  })
})

describe('MessageEncoder', () => {
  it('gives exactly routeMessage’s tables, rows (as JSON text), dates and rejection reasons on the corpus', () => {
    const enc = new CountingEncoder()
    const items = corpus()
    let compared = 0
    const metas: MessageMeta[] = [
      { topic: 'game_events', partition: 0, offset: '0', timestamp: DAY },
      {
        topic: 'other',
        partition: 7,
        offset: '9007199254740',
        timestamp: Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      },
      { topic: 't', partition: 1, offset: '5', timestamp: -1 },
      { topic: 't', partition: 2, offset: '6', timestamp: 0 },
    ]
    for (const meta of metas) {
      for (const [i, value] of items.entries()) {
        const m = { ...meta, offset: String(Number(meta.offset) + i) }
        check(enc, value, m, Number(m.offset), `item ${i}: ${String(value).slice(0, 80)}`)
        compared += 1
      }
    }
    expect(compared).toBe(items.length * metas.length)
    // The corpus does exercise the fast path, the rejections and `default`.
    const kinds = new Set(
      items
        .map((v) => reference(v, metas[0], 0))
        .map((r) => (r.rejected ? 'rejected' : r.tables.length ? 'rows' : 'none')),
    )
    expect([...kinds].sort()).toEqual(['none', 'rejected', 'rows'])
    // ... and both line formats: CSV, and NDJSON for values CSV cannot carry (control characters,
    // surrogates, line breaks in the raw event, oversized events).
    expect(csvLines).toBeGreaterThan(50)
    // CSV lines built from bytes (plain ASCII events, most without JSON.parse), and from strings (the rest).
    expect(byteLines).toBeGreaterThan(50)
    expect(enc.scannedEvents).toBeGreaterThan(50)
    expect(enc.scannedEvents).toBeLessThan(byteLines)
    expect(csvLines - byteLines).toBeGreaterThan(50)
    expect(jsonFastLines).toBeGreaterThan(10)
    // Rejections are CSV lines too (the cheap path), NDJSON only where CSV cannot carry them.
    expect(rejectedCsvLines).toBeGreaterThan(100)
    // ... most of those plain ones built from bytes on the scanned path (no JSON.parse).
    expect(rejectedByteLines).toBeGreaterThan(30)
  })

  it('keeps dates right across days, back and forth (the cached day)', () => {
    const enc = new MessageEncoder()
    const days = [0, 1, 1, 0, 2, -1, 0].map((d) => new Date(DAY + d * 86_400_000 - 12 * 3_600_000))
    const edges = [
      Date.UTC(2026, 10, 28) - 1,
      Date.UTC(2026, 10, 28),
      Date.UTC(2026, 10, 29) - 1,
      Date.UTC(2026, 10, 28) - 1,
    ]
    const all = [...days, ...edges.map((ms) => new Date(ms))]
    for (const [i, at] of all.entries()) {
      const meta = { topic: 't', partition: 0, offset: String(i), timestamp: DAY }
      const value = api('join_guild', {}, at)
      const got = enc.encode(value, meta, i)
      expect(got.dt).toBe(at.toISOString().slice(0, 10))
      check(enc, value, meta, i, at.toISOString())
    }
  })

  it('throws where routeMessage throws (a timestamp no Date can hold)', () => {
    const meta = { topic: 't', partition: 0, offset: '1', timestamp: Number.NaN }
    const value = seed({ event_type: 'join_guild', guild_name: 'g' })
    expect(() => routeMessage(value, meta)).toThrow(RangeError)
    expect(() => new MessageEncoder().encode(value, meta, 1)).toThrow(RangeError)
  })

  it('matches on random mixes of fields and types', () => {
    const enc = new CountingEncoder()
    const { int: rnd, pick } = seededRandom(12345)
    const values: unknown[] = [
      '',
      'x',
      '7',
      ' -3 ',
      5,
      -2,
      0,
      1.25,
      null,
      true,
      { a: [1] },
      ['b'],
      'ü😀',
      undefined,
    ]
    const keys = [
      'amount',
      'description',
      'guild_name',
      'cancel_reason',
      'message_post',
      'Host',
      'Accept',
      'User-Agent',
      'event_id',
      'received_at',
    ]
    for (let i = 0; i < 3000; i++) {
      const event: Record<string, unknown> = {
        event_type: pick([...EVENT_TYPES.map((s) => s.type), 'nope', '']),
      }
      for (const k of keys) if (rnd(3) > 0) event[k] = pick(values)
      if (rnd(4) === 0) event.received_at = new Date(DAY + rnd(5) * 40_000_007).toISOString()
      let value = JSON.stringify(event)
      // Whitespace between tokens (the values hold no quote, so only structure is touched).
      if (rnd(4) === 0) value = ` ${value.replaceAll('":', '" :\t').replaceAll(',"', ' ,  "')}\t`
      const meta = { topic: 'r', partition: rnd(3), offset: String(i), timestamp: DAY + rnd(3) * 50_000_000 }
      check(enc, value, meta, i, value)
    }
    // Most random events are rejected; some still take the scanned path (no JSON.parse).
    expect(enc.scannedEvents).toBeGreaterThan(30)
  })
})

describe('putInt / intLength', () => {
  it('spell safe integers as String(n) does', () => {
    const edges = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      999_999_999,
      1_000_000_000,
      1_000_000_001,
      -999_999_999,
      -1_000_000_000,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      1_795_893_108_388,
      999_999_999_999_999,
      1_000_000_000_000_000,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER - 1,
    ]
    let x = 987654321
    const random = Array.from({ length: 5000 }, (_, i) => {
      x = (x * 1103515245 + 12345) % 2147483648
      const n = Math.floor((x / 2147483648) * 10 ** (i % 17)) * (i % 2 ? -1 : 1)
      return Number.isSafeInteger(n) ? n : 0
    })
    const buf = Buffer.alloc(64, 0x78)
    for (const n of [...edges, ...random]) {
      const want = `${n}`
      expect(intLength(n), want).toBe(want.length)
      const end = putInt(buf, 3, n)
      expect(end - 3, want).toBe(want.length)
      expect(buf.toString('latin1', 3, end), want).toBe(want)
      expect(buf[2]).toBe(0x78)
    }
  })
})

describe('MessageEncoder, unknown fields', () => {
  it('names the fields of no catalog type on every path, never headers or the envelope', () => {
    const enc = new CountingEncoder()
    const meta = { topic: 's', partition: 0, offset: '1', timestamp: DAY }
    const extra = { platform: 'ios', guild_name: 'x', 'X-Forwarded-For': '10.0.0.1', schema_version: 1 }
    // Scanned from the bytes (plain ASCII JSON), no JSON.parse.
    const before = enc.scannedEvents
    const scanned = enc.encode(Buffer.from(api('purchase_sword', extra)), meta, 1)
    expect(enc.scannedEvents).toBe(before + 1)
    expect(sorted(scanned.unknownFields)).toEqual(['guild_name', 'platform'])
    expect(scanned.rejected).toBeUndefined()
    // Parsed (non-ASCII), and through routeMessage (a rejected event has none counted).
    const parsed = enc.encode(Buffer.from(api('purchase_sword', { ...extra, description: 'épée' })), meta, 1)
    expect(sorted(parsed.unknownFields)).toEqual(['guild_name', 'platform'])
    expect(enc.encode(api('add_money', { amount: 2.5, platform: 'ios' }), meta, 1)).toMatchObject({
      rejected: 'amount must be an integer, got 2.5',
      unknownFields: undefined,
    })
    // And reset for the next event.
    expect(enc.encode(Buffer.from(api('purchase_sword')), meta, 1).unknownFields).toBeUndefined()
    // A key twice is one field.
    const twice = api('mensaje').replace('{', '{"x":1,"x":2,')
    expect(enc.encode(Buffer.from(twice), meta, 1).unknownFields).toEqual(['x'])
    // More other keys than the scanner remembers: still all named (by the parse path).
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, i]))
    expect(enc.encode(Buffer.from(api('mensaje', many)), meta, 1).unknownFields).toHaveLength(12)
  })
})

describe('MessageEncoder, scanned path', () => {
  it('matches routeMessage on random well-formed events, key order and spacing', () => {
    const enc = new CountingEncoder()
    const { int: rnd, pick } = seededRandom(777)
    const texts: unknown[] = [
      '',
      'x',
      'knights',
      'a b',
      '-0',
      7,
      -0,
      0,
      123456789012345,
      null,
      undefined,
      1.5,
      true,
    ]
    const ints: unknown[] = [
      5,
      -10,
      0,
      -0,
      25,
      999999999999999,
      1e3,
      2.5,
      '12',
      ' -3 ',
      '+5',
      '-0',
      '007',
      '123456789012345',
      '1234567890123456',
      '12a',
      '',
      ' ',
      '- 3',
      '+',
    ]
    const times = [
      new Date(DAY).toISOString(),
      new Date(DAY + 86_399_999).toISOString(),
      '2026-11-29T00:00:00.000Z',
      '2026-11-30T10:00:00.000Z',
      '2026-11-28 10:00:00',
      '0099-01-01T00:00:00.000Z',
      '2026-11-30T10:00:59.999Z',
      '2026-11-30T10:00:60.000Z',
      '2026-11-30T10:00:5x.000Z',
      '2026-11-30T10:00:05.000+',
      '2026-11-30T10:01:05.123Z',
      '2026-02-29T10:00:00.000Z',
      '2026-11-30T24:00:00.000Z',
      7,
      null,
      undefined,
    ]
    let n = 0
    for (let i = 0; i < 4000; i++) {
      const spec = pick(EVENT_TYPES)
      const entries: [string, unknown][] = [['event_type', spec.type]]
      for (const f of spec.fields) entries.push([f.name, f.type === 'int' ? pick(ints) : pick(texts)])
      for (const h of ['Host', 'Accept', 'User-Agent']) if (rnd(5) > 0) entries.push([h, pick(texts)])
      if (rnd(4) > 0) entries.push(['received_at', pick(times)])
      if (rnd(3) > 0) entries.push(['event_id', pick([`id-${i}`, '', null, 5])])
      if (rnd(3) === 0) entries.push(['schema_version', pick([1, 'x', null, 2.5, false])])
      // Fields another producer added (kept in raw_event, reported as unknown), headers, other types' fields.
      if (rnd(4) === 0) entries.push([pick(['platform', 'itemLevel', '', 'a b', 'x_1']), pick(texts)])
      if (rnd(4) === 0) entries.push([pick(['X-Forwarded-For', 'Accept-Encoding', 'Z']), pick(texts)])
      if (rnd(5) === 0) {
        const other = pick(EVENT_TYPES.flatMap((t) => t.fields.map((f) => f.name)))
        if (!entries.some(([k]) => k === other)) entries.push([other, pick(texts)])
      }
      if (rnd(20) === 0) for (let k = 0; k < 10; k++) entries.push([`extra${k}`, k])
      for (let j = entries.length - 1; j > 0; j--) {
        const k = rnd(j + 1)
        ;[entries[j], entries[k]] = [entries[k], entries[j]]
      }
      let value = JSON.stringify(Object.fromEntries(entries))
      if (rnd(3) === 0) value = `\t${value.replaceAll('":', '":  ').replaceAll(',"', '\t,"')} `
      const meta = { topic: 's', partition: rnd(4), offset: String(i), timestamp: DAY + rnd(3) * 40_000_000 }
      check(enc, value, meta, i, value)
      n += 1
    }
    expect(n).toBe(4000)
    expect(enc.scannedEvents).toBeGreaterThan(1000)
  })
})

describe('mayBeJson', () => {
  it('is false only where JSON.parse throws (junk skips the throw), and true for every JSON value', () => {
    const rand = seededRandom(13)
    const alphabet = ' \t\n\r{}[]":,-+.0123456789eEtruefalsnulxyzGET/<>\\\u00e9\u0000'
    const samples = ['', ' ', '\n\t\r ', 'GET / HTTP/1.1', '<html>', 'x', '+1', '.5', 'NaN', 'undefined']
    for (let i = 0; i < 20_000; i++) {
      let s = ''
      const n = rand.int(8)
      for (let j = 0; j < n; j++) s += alphabet[rand.int(alphabet.length)]
      samples.push(s)
    }
    let skipped = 0
    for (const s of samples) {
      if (mayBeJson(s)) continue
      skipped += 1
      expect(() => JSON.parse(s), JSON.stringify(s)).toThrow(SyntaxError)
    }
    expect(skipped).toBeGreaterThan(5_000)
    for (const v of [{}, [], 'a', -1, 0, 7, true, false, null, { a: [1] }]) {
      expect(mayBeJson(JSON.stringify(v))).toBe(true)
      expect(mayBeJson(` \t\r\n${JSON.stringify(v)}`)).toBe(true)
    }
  })
})
