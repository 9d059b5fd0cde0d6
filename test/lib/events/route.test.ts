import { describe, expect, it } from 'vitest'
import {
  EVENT_TYPES,
  type EventTypeSpec,
  eventTypeSpec,
  type FieldSpec,
} from '../../../src/lib/events/catalog.js'
import { derivedEventId, eventDate, readFields, routeMessage } from '../../../src/lib/events/route.js'

const meta = {
  topic: 'game_events',
  partition: 1,
  offset: '42',
  timestamp: Date.parse('2019-08-09T20:49:21.542Z'),
}

describe('routeMessage', () => {
  it('routes an API event to purchases and transactions with typed fields', () => {
    const event = {
      Host: 'oski.berkeley.edu',
      'User-Agent': 'ApacheBench/2.3',
      Accept: '*/*',
      event_type: 'purchase_sword',
      amount: -10,
      description: 'Great Sword',
      event_id: 'e-1',
      schema_version: 1,
      received_at: '2026-11-28T10:00:00.000Z',
    }
    const r = routeMessage(Buffer.from(JSON.stringify(event)), meta)
    expect(r.rejected).toBeUndefined()
    expect(r.rows.map((x) => x.table)).toEqual(['purchases', 'transactions'])
    expect(r.rows[0].row).toMatchObject({
      Host: 'oski.berkeley.edu',
      amount: -10,
      description: 'Great Sword',
      event_id: 'e-1',
      timestamp: Date.parse('2026-11-28T10:00:00.000Z'),
      dt: '2026-11-28',
      event_type: 'purchase_sword',
    })
  })

  it('accepts seed-format events: headers merged, amount a string, no envelope', () => {
    const seed =
      '{"event_type": "add_money", "amount": "5", "Accept": "*/*", "Host": "localhost", "User-Agent": "ApacheBench/2.3"}'
    const r = routeMessage(seed, meta)
    expect(r.rows.map((x) => x.table)).toEqual(['add_money', 'transactions'])
    expect(r.rows[0].row.amount).toBe(5)
    expect(r.rows[0].row.raw_event).toBe(seed)
    expect(r.rows[0].row.timestamp).toBe(meta.timestamp)
    expect(r.rows[0].row.event_id).toBe(derivedEventId(meta))
    expect(derivedEventId(meta)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    expect(derivedEventId({ ...meta, offset: '43' })).not.toBe(derivedEventId(meta))
  })

  it('derives the same event ids as ever (lakes already hold them): pinned values', () => {
    expect(derivedEventId({ topic: 'game_events', partition: 0, offset: '42' })).toBe(
      '0d971244-e11b-5e88-861b-d932cda98df2',
    )
    expect(derivedEventId({ topic: '\u00e9v\u00e9nements', partition: 11, offset: '9007199254740991' })).toBe(
      '63075c9a-1e45-5ac6-b828-00a24b611ebb',
    )
  })

  it('drops default events without rejecting them', () => {
    expect(routeMessage('{"event_type":"default","Host":"h"}', meta)).toEqual({ rows: [] })
  })

  it.each([
    ['not json', 'not valid JSON'],
    ['', 'empty message'],
    ['[1,2]', 'not a JSON object'],
    ['{"Host":"h"}', 'missing event_type'],
    ['{"event_type":"teleport"}', 'unknown event_type "teleport"'],
    ['{"event_type":"add_money","amount":"lots"}', 'amount must be an integer, got "lots"'],
    ['{"event_type":"add_money","amount":-3}', 'amount must be greater than 0'],
    ['{"event_type":"join_guild","guild_name":""}', 'guild_name is required'],
  ])('rejects %s with a reason', (raw, reason) => {
    const r = routeMessage(raw, meta)
    expect(r.rejected).toBe(reason)
    expect(r.rows).toHaveLength(1)
    expect(r.rows[0].table).toBe('rejected')
    expect(r.rows[0].row).toMatchObject({
      reason,
      kafka_topic: 'game_events',
      kafka_partition: 1,
      kafka_offset: 42,
    })
  })

  it('handles null values and invalid UTF-8 without throwing', () => {
    expect(routeMessage(null, meta).rejected).toBe('empty message')
    const bad = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
    expect(routeMessage(bad, meta).rejected).toBe('not valid JSON')
    expect(eventDate(0)).toBe('1970-01-01')
  })
})

describe('unknownFieldNames', () => {
  const meta = { topic: 't', partition: 0, offset: '3', timestamp: Date.UTC(2026, 10, 28) }
  it('names keys that are neither the envelope, the type’s fields nor headers; routed events only', () => {
    const routed = routeMessage(
      JSON.stringify({
        event_type: 'join_guild',
        guild_name: 'knights',
        event_id: 'e1',
        schema_version: 1,
        received_at: '2026-11-28T00:00:00.000Z',
        Host: 'h',
        'X-Forwarded-For': '10.0.0.1',
        platform: 'ios',
        amount: 5,
      }),
      meta,
    )
    expect(routed.rejected).toBeUndefined()
    expect(routed.unknownFields).toEqual(['platform', 'amount'])
    // Not part of the row: the table's columns come from the catalog.
    expect(Object.keys(routed.rows[0].row)).not.toContain('platform')
    expect(routeMessage('{"event_type":"join_guild","guild_name":"k"}', meta).unknownFields).toBeUndefined()
    expect(routeMessage('{"event_type":"join_guild","x":1}', meta)).toMatchObject({
      rejected: 'guild_name is required',
    })
    expect(routeMessage('{"event_type":"join_guild","x":1}', meta).unknownFields).toBeUndefined()
  })
})

describe('readFields: the catalog FieldSpec rules', () => {
  const spec = (fields: FieldSpec[]) => ({ ...(eventTypeSpec('mensaje') as EventTypeSpec), fields })

  it('checks types first, then required and positive in field order, for any entry', () => {
    const s = spec([
      { name: 'who', type: 'string', required: true },
      { name: 'n', type: 'int', positive: true },
    ])
    const values: (string | number | null)[] = []
    expect(readFields(s, { who: 'a', n: '3' }, values)).toBeUndefined()
    expect(values).toEqual(['a', 3])
    expect(readFields(s, { who: '', n: 'x' }, [])).toBe('n must be an integer, got "x"')
    expect(readFields(s, { n: 0 }, [])).toBe('who is required')
    expect(readFields(s, { who: null, n: 1 }, [])).toBe('who is required')
    expect(readFields(s, { who: 0, n: 0 }, [])).toBe('n must be greater than 0')
    expect(readFields(s, { who: 'a', n: -2 }, [])).toBe('n must be greater than 0')
    expect(readFields(spec([{ name: 'who', type: 'string' }]), {}, [])).toBeUndefined()
  })

  it('holds the rules routeMessage applies to the catalog types (join_guild, add_money)', () => {
    const rules = EVENT_TYPES.flatMap((t) =>
      t.fields.filter((f) => f.required || f.positive).map((f) => `${t.type}.${f.name}`),
    )
    expect(rules.sort()).toEqual(['add_money.amount', 'join_guild.guild_name'])
    const route = (e: object) => routeMessage(JSON.stringify(e), meta).rejected
    expect(route({ event_type: 'join_guild', guild_name: '' })).toBe('guild_name is required')
    expect(route({ event_type: 'add_money', amount: 0 })).toBe('amount must be greater than 0')
    // The same field without the rule elsewhere: a purchase's negative amount is fine.
    expect(route({ event_type: 'purchase_sword', amount: -10 })).toBeUndefined()
  })
})
