import { describe, expect, it } from 'vitest'
import {
  EVENT_TYPES,
  eventTypeSpec,
  routeTable,
  TABLE_NAMES,
  tableColumns,
} from '../../../src/lib/events/catalog.js'

const names = (t: Parameters<typeof tableColumns>[0]) => tableColumns(t).map((c) => c.name)

describe('event catalog', () => {
  it('keeps the seed event type names and routes', () => {
    expect(EVENT_TYPES.map((e) => e.type)).toEqual([
      'default',
      'purchase_sword',
      'purchase_knife',
      'add_money',
      'join_guild',
      'cancel_membership',
      'mensaje',
    ])
    const routes = routeTable()
    expect(routes.get('GET /purchase_a_sword')?.type).toBe('purchase_sword')
    expect(routes.get('POST /messages')?.type).toBe('mensaje')
    expect(routes.get('GET /messages')?.type).toBe('mensaje')
    expect(routes.get('POST /add_money')).toBeUndefined()
  })

  it('gives every table the seed column order', () => {
    const lead = ['raw_event', 'timestamp', 'Accept', 'Host', 'User-Agent', 'event_type']
    expect(names('purchases')).toEqual([...lead, 'amount', 'description', 'event_id'])
    expect(names('transactions')).toEqual([...lead, 'amount', 'description', 'event_id'])
    expect(names('add_money')).toEqual([...lead, 'amount', 'description', 'event_id'])
    expect(names('guild_membership')).toEqual([...lead, 'guild_name', 'event_id'])
    expect(names('cancel_membership')).toEqual([...lead, 'guild_name', 'cancel_reason', 'event_id'])
    expect(names('messages')).toEqual([...lead, 'message_post', 'event_id'])
    expect(names('rejected')).toEqual([
      ...lead,
      'reason',
      'kafka_topic',
      'kafka_partition',
      'kafka_offset',
      'kafka_offset_last',
      'event_id',
    ])
    expect(tableColumns('purchases').find((c) => c.name === 'amount')?.type).toBe('BIGINT')
    expect(tableColumns('purchases').find((c) => c.name === 'timestamp')?.type).toBe('TIMESTAMP')
  })

  it('routes every event type to tables that exist', () => {
    for (const spec of EVENT_TYPES) for (const t of spec.tables) expect(TABLE_NAMES).toContain(t)
  })

  it('prices purchases from the given prices, never from params', () => {
    const sword = eventTypeSpec('purchase_sword')!
    expect(sword.build({ sword_type: 'Great Sword' }, { sword: 25, knife: 3 })).toEqual({
      amount: -25,
      description: 'Great Sword',
    })
    expect(eventTypeSpec('add_money')!.build({ amount: 100 }, { sword: 10, knife: 10 })).toEqual({
      amount: 100,
      description: 'money',
    })
  })
})
