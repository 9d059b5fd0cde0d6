import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildEvent } from '../../../src/lib/events/envelope.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { StreamOptions } from '../../../src/lib/stream/stream.js'
import { readTable, type Stack, startStack } from './fixtures.js'

/**
 * Schema evolution across real stream runs (embedded broker, WebHDFS gateway, Parquet, DuckDB):
 * - a field another producer sends before the catalog has it: raw_event only, counted in
 *   `game stream status`, the table schema does not grow;
 * - the catalog then gains it as an optional field (a test catalog: the module graph is loaded
 *   afresh with the field added): new files get the column, old files read as NULL there through
 *   the reports' and `game query`'s views (read_parquet union_by_name);
 * - a field whose type changes (amount as a float): the event goes to `rejected` with the reason.
 */

const CATALOG = '../../../src/lib/events/catalog.js'
const STREAM = '../../../src/lib/stream/stream.js'
const STATUS = '../../../src/lib/stream/status.js'
const REPORT = '../../../src/lib/report/index.js'
const SUMMARY = '../../../src/ui/stream-summary.js'

type CatalogModule = typeof import('../../../src/lib/events/catalog.js')
type StreamModule = typeof import('../../../src/lib/stream/stream.js')

/** A fresh module graph (catalog, encoder, stream, reports); `change` edits its catalog before anything reads it. */
async function generation(change?: (catalog: CatalogModule) => void) {
  vi.resetModules()
  const catalog: CatalogModule = await import(CATALOG)
  change?.(catalog)
  const stream: StreamModule = await import(STREAM)
  const status: typeof import('../../../src/lib/stream/status.js') = await import(STATUS)
  const report: typeof import('../../../src/lib/report/index.js') = await import(REPORT)
  const summary: typeof import('../../../src/ui/stream-summary.js') = await import(SUMMARY)
  return { catalog, stream, status, report, summary }
}

/** The test catalog's change: purchase_sword gains `platform` (text) and an optional int `item_level`. */
function addPlatform(catalog: CatalogModule): void {
  const sword = catalog.EVENT_TYPES.find((t) => t.type === 'purchase_sword')
  if (!sword) throw new Error('no purchase_sword in the catalog')
  sword.fields.push({ name: 'platform', type: 'string' }, { name: 'item_level', type: 'int', optional: true })
}

const HEADERS = { Host: 'user1.comcast.com', 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' }
let n = 0
function event(type: string, fields: Record<string, string | number>, extra: Record<string, unknown> = {}) {
  n += 1
  return {
    value: JSON.stringify({
      ...buildEvent({
        type,
        fields,
        headers: HEADERS,
        eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        receivedAt: new Date(Date.UTC(2026, 10, 28, 12, 0, n)),
      }),
      ...extra,
    }),
  }
}

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  vi.resetModules()
  await stack?.close()
})

const topic = 'evolving'
const lakeUrl = () => `${stack.lakeUrl}/${topic}`
const lake = () => openLake(lakeUrl(), { hdfsUser: 'game' })
const options = (): StreamOptions => ({
  topic,
  group: `g-${topic}`,
  intervalMs: 60_000,
  maxRows: 100_000,
  maxBytes: 64 * 1024 * 1024,
  once: true,
  fromBeginning: true,
  stagingGraceMs: 0,
  brokers: stack.brokers,
})

describe('schema evolution', () => {
  it('streams across a catalog change: unknown field counted, then a column; old files NULL; a float amount rejected', async () => {
    await stack.createTopic(topic, 2)

    // 1. The catalog without `platform`. A new producer already sends it; another sends amount as a float.
    const g1 = await generation()
    expect(g1.catalog.tableColumns('purchases').map((c) => c.name)).not.toContain('platform')
    await stack.produce(topic, [
      event('purchase_sword', { amount: -10, description: 'old sword' }),
      event('purchase_sword', { amount: -10, description: 'early ios sword' }, { platform: 'ios' }),
      event('purchase_knife', { amount: -10, description: 'old knife' }, { platform: 'web', referrer: 'ad' }),
      event('add_money', { amount: 100, description: 'money' }),
      event('add_money', { amount: 100, description: 'money' }, { amount: 10.5 }),
      event('purchase_sword', { amount: -10, description: 'x' }, { amount: '-10.5' }),
    ])
    const r1 = await g1.stream.streamToLake(options(), { kafka: stack.kafka('s1'), lake: lake() })
    expect(r1.events).toBe(6)
    expect(r1.rows.purchases).toBe(3)
    expect(r1.rejected).toBe(2)
    expect(r1.unknownFields).toEqual({ platform: 2, referrer: 1 })
    expect(g1.summary.renderStreamResult(r1)).toContain('unknown fields seen: platform (2), referrer (1)')

    // The unknown fields are in raw_event only: no column appeared.
    const early = await readTable(lake(), 'purchases')
    expect(Object.keys(early[0])).not.toContain('platform')
    expect(early.find((r) => r.description === 'early ios sword')?.raw_event).toContain('"platform":"ios"')

    // The type change went to `rejected` with the reason; the tables hold BIGINT amounts only.
    const rejected = await readTable(lake(), 'rejected')
    expect(rejected.map((r) => r.reason).sort()).toEqual([
      'amount must be an integer, got "-10.5"',
      'amount must be an integer, got 10.5',
    ])
    expect(rejected.every((r) => r.kafka_topic === topic)).toBe(true)

    // `game stream status` counts them, from the lake.
    const st1 = await g1.status.streamStatus({ topic, group: `g-${topic}` }, { lake: lake() })
    expect(st1.unknownFields).toEqual({ platform: 2, referrer: 1 })
    expect(g1.summary.renderStreamStatus(st1)).toMatch(
      /unknown fields seen: platform \(2\), referrer \(1\); kept in raw_event only/,
    )

    // 2. The catalog gains `platform` (optional): the stream goes on from where it stopped.
    const g2 = await generation(addPlatform)
    expect(g2.catalog.tableColumns('purchases').map((c) => c.name)).toContain('platform')
    await stack.produce(topic, [
      event('purchase_sword', { amount: -10, description: 'new ios sword', platform: 'ios', item_level: 7 }),
      event('purchase_sword', { amount: -10, description: 'new sword, old producer' }),
      event('purchase_knife', { amount: -10, description: 'new knife' }, { platform: 'web' }),
    ])
    const r2 = await g2.stream.streamToLake(options(), { kafka: stack.kafka('s2'), lake: lake() })
    expect(r2.events).toBe(3)
    expect(r2.rows.purchases).toBe(3)
    // `platform` is known for swords now; for knives it still is not.
    expect(r2.unknownFields).toEqual({ platform: 1 })

    // New files have the column; old ones do not (read back with hyparquet, file by file).
    const rows = await readTable(lake(), 'purchases')
    const byDescription = new Map(rows.map((r) => [r.description, r]))
    expect(byDescription.get('new ios sword')).toMatchObject({ platform: 'ios', item_level: 7n })
    // The optional int: an old producer's event is not rejected for lacking it.
    expect(byDescription.get('new sword, old producer')?.item_level).toBeNull()
    expect(byDescription.get('new sword, old producer')?.platform).toBeNull()
    expect(byDescription.get('new knife')?.platform).toBeNull()
    expect('platform' in (byDescription.get('old sword') ?? {})).toBe(false)

    // Reports and `game query` read old and new files together: NULL where a file has no column.
    const cacheDir = path.join(stack.dir, 'cache')
    const { result } = await g2.report.lakeSql({
      lake: lake(),
      cacheDir,
      sql: 'SELECT description, platform, item_level, amount FROM purchases ORDER BY description',
    })
    expect(result.rows).toEqual([
      { description: 'early ios sword', platform: null, item_level: null, amount: -10 },
      { description: 'new ios sword', platform: 'ios', item_level: 7, amount: -10 },
      { description: 'new knife', platform: null, item_level: null, amount: -10 },
      { description: 'new sword, old producer', platform: null, item_level: null, amount: -10 },
      { description: 'old knife', platform: null, item_level: null, amount: -10 },
      { description: 'old sword', platform: null, item_level: null, amount: -10 },
    ])
    const described = await g2.report.lakeSql({ lake: lake(), cacheDir, sql: 'DESCRIBE purchases' })
    const types = Object.fromEntries(described.result.rows.map((r) => [r.column_name, r.column_type]))
    expect(types).toMatchObject({ platform: 'VARCHAR', item_level: 'BIGINT', amount: 'BIGINT' })
    const purchases = await g2.report.lakeReport('purchases', { lake: lake(), cacheDir })
    expect(purchases.empty).toBe(false)
    expect(JSON.stringify(purchases.result)).toContain('sword')

    // Status sums both runs: the knife producer's platform, and the referrer nobody added.
    const st2 = await g2.status.streamStatus({ topic, group: `g-${topic}` }, { lake: lake() })
    expect(st2.unknownFields).toEqual({ platform: 3, referrer: 1 })
  })
})
