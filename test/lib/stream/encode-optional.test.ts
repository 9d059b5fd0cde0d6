import { afterAll, describe, expect, it, vi } from 'vitest'
import { countingEncoderClass, encodedLine } from './encoded.js'

/**
 * An optional int field added to a type (a test catalog: the module graph loaded afresh with the
 * field added): absent or null is NULL, anything else must still be an integer. The encoder's paths
 * (scanned bytes, JSON.parse, routeMessage) agree with routeMessage on every event.
 */

type CatalogModule = typeof import('../../../src/lib/events/catalog.js')

afterAll(() => {
  vi.resetModules()
})

describe('an optional int field', () => {
  it('is NULL when absent or null, a rejection when not an integer, on every encoder path', async () => {
    vi.resetModules()
    const catalog: CatalogModule = await import('../../../src/lib/events/catalog.js')
    const sword = catalog.EVENT_TYPES.find((t) => t.type === 'purchase_sword')
    sword?.fields.push({ name: 'item_level', type: 'int', optional: true })
    const { MessageEncoder, CSV_DELIMITER, CSV_NULL } = await import('../../../src/lib/stream/encode.js')
    const { routeMessage } = await import('../../../src/lib/events/route.js')
    const cols = [...catalog.tableColumns('purchases').map((c) => c.name), '__p', '__o']
    expect(cols).toContain('item_level')

    const enc = new (countingEncoderClass(MessageEncoder))()
    const levels: unknown[] = [undefined, null, 5, -3, '7', ' 8 ', 'x', 2.5, true, '', 1e20]
    const descriptions = ['plain', 'épée'] // ASCII: scanned path; non-ASCII: JSON.parse path
    let checked = 0
    let nulls = 0
    for (const level of levels)
      for (const description of descriptions) {
        const event: Record<string, unknown> = {
          event_type: 'purchase_sword',
          amount: -10,
          description,
          Host: 'h',
          received_at: '2026-11-28T12:00:00.000Z',
          event_id: 'e',
        }
        if (level !== undefined) event.item_level = level
        const value = JSON.stringify(event)
        const meta = { topic: 't', partition: 1, offset: '9', timestamp: 0 }
        const want = routeMessage(value, meta)
        for (const input of [value, Buffer.from(value)]) {
          const got = enc.encode(input, { ...meta }, 9)
          expect(got.rejected, value).toBe(want.rejected)
          if (want.rejected) {
            expect(want.rejected).toMatch(/^item_level must be an integer/)
            continue
          }
          const line = encodedLine(got)
          const row: Record<string, unknown> = got.csv
            ? Object.fromEntries(
                line.split(CSV_DELIMITER).map((c, i) => [cols[i], c === CSV_NULL ? null : c]),
              )
            : JSON.parse(line)
          const expected = want.rows[0].row.item_level
          expect(row.item_level === null ? null : Number(row.item_level), value).toBe(expected)
          if (expected === null) nulls += 1
          checked += 1
        }
      }
    expect(nulls).toBe(8) // absent and null, two descriptions, string and bytes
    expect(checked).toBe(24) // 6 accepted levels × 2 × 2
    expect(enc.scannedEvents).toBeGreaterThan(0)
  })
})
