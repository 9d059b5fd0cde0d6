import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tableColumns } from '../../../src/lib/events/catalog.js'
import { copyStatement, createParquetWriter, type ParquetWriter } from '../../../src/lib/lake/parquet.js'
import { writeNdjsonFiles, writeRows } from '../../helpers/rows.js'

let dir: string
let writer: ParquetWriter

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-parquet-'))
  writer = await createParquetWriter({ memoryLimit: '128MB' })
})
afterAll(async () => {
  writer?.close()
  await rm(dir, { recursive: true, force: true })
})

const T0 = Date.UTC(2026, 10, 28, 15, 20, 58, 123)

function txRow(i: number) {
  return {
    raw_event: `{"event_type":"purchase_sword","i":${i}}`,
    timestamp: T0 + i,
    Accept: '*/*',
    Host: `user${i % 3}.comcast.com`,
    'User-Agent': 'ApacheBench/2.3 \'quoted\' "double" ünïcode',
    event_type: i % 2 ? 'purchase_sword' : 'add_money',
    dt: '2026-11-28',
    amount: i % 2 ? -10 : 9_007_199_254_740_991 - i,
    description: i % 2 ? 'sword' : 'money',
    event_id: `id-${i}`,
  }
}

async function readBoth(file: string) {
  const buf = await readFile(file)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
  return { meta: parquetMetadata(ab), rows: await parquetReadObjects({ file: ab }) }
}

describe('copyStatement', () => {
  it('selects the catalog columns in order, quoting names, timestamp as a UTC instant', () => {
    const sql = copyStatement('transactions', "/tmp/it's.ndjson", '/tmp/o.parquet')
    expect(sql).toContain("'/tmp/it''s.ndjson'")
    expect(sql).toContain('"User-Agent"')
    expect(sql).toContain('make_timestamptz("timestamp" * 1000)')
    expect(sql).toContain('COMPRESSION snappy')
    const order = tableColumns('transactions').map((c) => sql.indexOf(`"${c.name}"`, sql.indexOf('SELECT')))
    expect([...order].sort((a, b) => a - b)).toEqual(order)
  })
})

describe('createParquetWriter', () => {
  it('writes the table columns with standard types, read back by hyparquet and DuckDB', async () => {
    const out = path.join(dir, 'tx.parquet')
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify(txRow(i)))
    const written = await writeRows(writer, 'transactions', lines, out)
    expect(written.rows).toBe(50)
    expect(written.bytes).toBeGreaterThan(100)

    const { meta, rows } = await readBoth(out)
    const schema = meta.schema.slice(1)
    expect(schema.map((s) => s.name)).toEqual(tableColumns('transactions').map((c) => c.name))
    const byName = Object.fromEntries(schema.map((s) => [s.name, s]))
    expect(byName.amount.type).toBe('INT64')
    expect(byName.timestamp.type).toBe('INT64')
    expect(byName.timestamp.logical_type).toMatchObject({
      type: 'TIMESTAMP',
      isAdjustedToUTC: true,
      unit: 'MICROS',
    })
    expect(byName.Host.type).toBe('BYTE_ARRAY')
    expect(byName.Host.converted_type).toBe('UTF8')
    expect('dt' in byName).toBe(false)
    const codecs = new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))
    expect([...codecs]).toEqual(['SNAPPY'])

    expect(rows).toHaveLength(50)
    expect(rows[1]).toMatchObject({
      Host: 'user1.comcast.com',
      amount: -10n,
      description: 'sword',
      event_id: 'id-1',
      'User-Agent': 'ApacheBench/2.3 \'quoted\' "double" ünïcode',
    })
    expect((rows[1].timestamp as Date).toISOString()).toBe(new Date(T0 + 1).toISOString())
    expect(rows[0].amount).toBe(9_007_199_254_740_991n)

    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    const r = await conn.runAndReadAll(
      `SELECT count(*)::INT AS n, sum(amount)::VARCHAR AS s, typeof(any_value(timestamp)) AS tt, typeof(any_value(amount)) AS at, epoch_ms(min(timestamp))::VARCHAR AS t0 FROM '${out}'`,
    )
    const [row] = r.getRowObjectsJson()
    expect(row.n).toBe(50)
    expect(row.tt).toBe('TIMESTAMP WITH TIME ZONE')
    expect(row.at).toBe('BIGINT')
    expect(row.t0).toBe(String(T0))
    const expectedSum = Array.from({ length: 50 }, (_, i) => BigInt(txRow(i).amount)).reduce(
      (a, b) => a + b,
      0n,
    )
    expect(row.s).toBe(expectedSum.toString())
    conn.closeSync()
    db.closeSync()
  })

  it('leaves out rows below a per-partition offset (already published elsewhere), never writing __p/__o', async () => {
    const out = path.join(dir, 'skip.parquet')
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ ...txRow(i), __p: i % 2, __o: i }))
    const written = await writeRows(writer, 'transactions', lines, out)
    expect(written.rows).toBe(10)
    const src = path.join(dir, 'skip.ndjson')
    await (await import('node:fs/promises')).writeFile(src, `${lines.join('\n')}\n`)
    const skipped = await writeNdjsonFiles(writer, 'transactions', [src], out, new Map([[0, 6n]]))
    // Partition 0 holds offsets 0,2,4,6,8: 0,2,4 go; partition 1 keeps all five.
    expect(skipped.rows).toBe(7)
    const { meta, rows } = await readBoth(out)
    expect(meta.schema.map((s) => s.name)).not.toContain('__p')
    expect(rows.map((r) => r.event_id)).toEqual(['id-1', 'id-3', 'id-5', 'id-6', 'id-7', 'id-8', 'id-9'])
  })

  it('writes nulls for missing fields and the rejected table columns', async () => {
    const out = path.join(dir, 'rej.parquet')
    const line = JSON.stringify({
      raw_event: 'not json',
      timestamp: T0,
      Accept: null,
      Host: null,
      'User-Agent': null,
      event_type: null,
      dt: '2026-11-28',
      event_id: 'x',
      reason: 'not valid JSON',
      kafka_topic: 'game_events',
      kafka_partition: 2,
      kafka_offset: 41,
    })
    await writeRows(writer, 'rejected', [line], out)
    const { rows } = await readBoth(out)
    expect(rows).toEqual([
      {
        raw_event: 'not json',
        timestamp: new Date(T0),
        Accept: null,
        Host: null,
        'User-Agent': null,
        event_type: null,
        reason: 'not valid JSON',
        kafka_topic: 'game_events',
        kafka_partition: 2n,
        kafka_offset: 41n,
        // Set only for an undecodable batch (the last offset it covers); null for one message.
        kafka_offset_last: null,
        event_id: 'x',
      },
    ])
  })
})
