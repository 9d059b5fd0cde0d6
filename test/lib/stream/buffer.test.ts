import { describe, expect, it } from 'vitest'
import { routeMessage } from '../../../src/lib/events/route.js'
import { RowBuffer } from '../../../src/lib/stream/buffer.js'

const meta = (offset: number, partition = 0) => ({
  topic: 't',
  partition,
  offset: String(offset),
  timestamp: Date.UTC(2026, 10, 28),
})

describe('RowBuffer', () => {
  it('serializes a row once for both of its tables and groups by table and date', () => {
    const b = new RowBuffer()
    const sword = routeMessage(
      JSON.stringify({ event_type: 'purchase_sword', amount: -10, description: 'x', Host: 'h' }),
      meta(0),
    )
    b.add(0, sword.rows)
    const nextDay = routeMessage(
      JSON.stringify({ event_type: 'add_money', amount: 5, received_at: '2026-11-29T00:00:01Z' }),
      meta(1),
    )
    b.add(0, nextDay.rows)
    expect(b.rows).toBe(4)
    const batches = b.drain()
    expect(batches.map((x) => `${x.table}/${x.dt}/${x.rows}`)).toEqual([
      'add_money/2026-11-29/1',
      'purchases/2026-11-28/1',
      'transactions/2026-11-28/1',
      'transactions/2026-11-29/1',
    ])
    expect(batches[1].lines[0]).toBe(batches[2].lines[0])
    expect(JSON.parse(batches[1].lines[0])).toMatchObject({ amount: -10, Host: 'h', dt: '2026-11-28' })
    expect(b.isEmpty).toBe(true)
    expect(b.bytes).toBe(0)
  })

  it('merges partitions on drain and drops a revoked partition', () => {
    const b = new RowBuffer()
    const msg = (o: number) =>
      routeMessage(JSON.stringify({ event_type: 'join_guild', guild_name: `g${o}` }), meta(o)).rows
    b.add(0, msg(0))
    b.add(1, msg(1))
    b.add(2, msg(2))
    const bytesBefore = b.bytes
    expect(b.dropPartition(1)).toBe(1)
    expect(b.dropPartition(7)).toBe(0)
    expect(b.rows).toBe(2)
    expect(b.bytes).toBeLessThan(bytesBefore)
    const [batch] = b.drain()
    expect(batch.rows).toBe(2)
    expect(batch.lines.map((l) => JSON.parse(l).guild_name).sort()).toEqual(['g0', 'g2'])
  })

  it('ignores messages without rows (default events)', () => {
    const b = new RowBuffer()
    b.add(0, routeMessage(JSON.stringify({ event_type: 'default' }), meta(0)).rows)
    expect(b.isEmpty).toBe(true)
    expect(b.drain()).toEqual([])
  })
})
