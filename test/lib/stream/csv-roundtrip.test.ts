import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TableName, tableColumns } from '../../../src/lib/events/catalog.js'
import { routeMessage } from '../../../src/lib/events/route.js'
import { createParquetWriter, type ParquetWriter } from '../../../src/lib/lake/parquet.js'
import { CountingEncoder, encodedLine } from './encoded.js'
import { duckQuery } from './fixtures.js'

/**
 * The CSV line format end to end: lines the encoder writes go through the real DuckDB COPY
 * (read_csv) into Parquet, and every row read back equals routeMessage's row for the same message.
 * The values are the ones a CSV reader could get wrong: quotes, commas, spaces, markers such as
 * NULL or \N, comment-like starts, backslashes, unicode, long values.
 */
let dir: string
let writer: ParquetWriter
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-csv-'))
  writer = await createParquetWriter()
})
afterAll(async () => {
  writer?.close()
  await rm(dir, { recursive: true, force: true })
})

const TRICKY = [
  '',
  ' ',
  '  padded  ',
  '"',
  '"quoted"',
  "'single'",
  'a,b,c',
  'semi;colon|pipe',
  '#not a comment',
  'NULL',
  'null',
  '\\N',
  'back\\slash',
  'ünïcödé 日本語 ☃',
  'x'.repeat(50_000),
  '{"json":"inside"}',
  '=1+1',
  '0',
  '-0',
]

function messages(): string[] {
  const out: string[] = []
  let i = 0
  for (const v of TRICKY) {
    const base = {
      Host: `h${i}.example.com`,
      'User-Agent': 'ua',
      Accept: '*/*',
      received_at: '2026-11-28T10:00:00.000Z',
    }
    out.push(
      JSON.stringify({
        ...base,
        event_type: 'purchase_sword',
        amount: -10,
        description: v,
        event_id: `e${i++}`,
      }),
    )
    out.push(
      JSON.stringify({ ...base, event_type: 'mensaje', message_post: v, Host: v, event_id: `e${i++}` }),
    )
    out.push(
      JSON.stringify({
        ...base,
        event_type: 'cancel_membership',
        guild_name: `g${v}`,
        cancel_reason: v,
        Accept: v,
      }),
    )
    out.push(
      JSON.stringify({ event_type: 'add_money', amount: String(i + 1), description: v, 'User-Agent': v }),
    )
  }
  // Spaces and tabs between tokens, and around the object: the raw event keeps them.
  out.push(
    ' {"event_type":\t"purchase_knife" , "amount" : -3,"description":"spaced","event_id":"s1"}\t',
    '\t{ "event_type" : "mensaje",\t"message_post" : "  two  spaces  ", "Host":"h"\t}  ',
  )
  return out
}

describe('CSV lines through DuckDB', () => {
  it('read back as exactly the rows routeMessage gives', async () => {
    const encoder = new CountingEncoder()
    const lines = new Map<TableName, string[]>()
    const want = new Map<TableName, Record<string, unknown>[]>()
    let csv = 0
    let fromBytes = 0
    for (const [offset, value] of messages().entries()) {
      const meta = { topic: 't', partition: 0, offset: String(offset), timestamp: Date.UTC(2026, 10, 28) }
      // As the stream passes them: the record's bytes (plain ASCII events get byte-built lines).
      const encoded = encoder.encode(Buffer.from(value), meta, offset)
      const routed = routeMessage(value, meta)
      expect(routed.rejected).toBeUndefined()
      const table = encoded.tables[0] as TableName
      if (encoded.csv) csv += 1
      else continue
      if (encoded.bytes) fromBytes += 1
      lines.set(table, [...(lines.get(table) ?? []), encodedLine(encoded)])
      const row = routed.rows.find((r) => r.table === table)?.row as Record<string, unknown>
      want.set(table, [...(want.get(table) ?? []), row])
    }
    // All but the three whose raw event is over 64 KiB (cut, so NDJSON).
    expect(encoder.scannedEvents).toBeGreaterThan(30)
    expect(csv).toBe(messages().length - 3)
    // Both ways of building a CSV line: bytes (plain ASCII) and text (unicode, backslashes).
    expect(fromBytes).toBeGreaterThan(40)
    expect(csv - fromBytes).toBeGreaterThan(8)
    await expectRoundTrip(lines, want)
  })

  it('carries rejected events (junk, unknown types, broken rules) as CSV, reason and coordinates included', async () => {
    const encoder = new CountingEncoder()
    const lines = new Map<TableName, string[]>()
    const want = new Map<TableName, Record<string, unknown>[]>()
    const rejects: string[] = []
    for (const v of TRICKY) {
      rejects.push(`junk ${v}`, `{"event_type": "mensaje", "message_post": ${JSON.stringify(v)}`)
      rejects.push(
        JSON.stringify({ event_type: `fly${v}`, Host: v, received_at: '2026-11-28T10:00:00.000Z' }),
      )
      rejects.push(
        JSON.stringify({ event_type: 'add_money', amount: v, Accept: v, event_id: `r${v.length}` }),
      )
      rejects.push(JSON.stringify({ event_type: 'join_guild', guild_name: '', 'User-Agent': v }))
    }
    rejects.push(
      '[1,2]',
      '42',
      '\t{"event_type":\t5}\t',
      '{"event_type":"add_money","amount":-5}',
      '"\u001f"',
    )
    let csv = 0
    for (const [offset, value] of rejects.entries()) {
      const meta = { topic: 't', partition: 3, offset: String(offset), timestamp: Date.UTC(2026, 10, 28) }
      const encoded = encoder.encode(Buffer.from(value), meta, offset)
      const routed = routeMessage(value, meta)
      expect(encoded.rejected, value).toBe(routed.rejected)
      expect(encoded.rejected, value).toBeDefined()
      if (!encoded.csv) continue
      csv += 1
      lines.set('rejected', [...(lines.get('rejected') ?? []), encodedLine(encoded)])
      want.set('rejected', [...(want.get('rejected') ?? []), routed.rows[0].row as Record<string, unknown>])
    }
    // All but the raw events CSV cannot carry: over 64 KiB (cut), a control character.
    expect(csv).toBeGreaterThan(rejects.length - 6)
    await expectRoundTrip(lines, want)
  })
})

/** Writes each table's lines as a CSV file, COPYs it to Parquet with DuckDB, and reads back `want`. */
async function expectRoundTrip(
  lines: Map<TableName, string[]>,
  want: Map<TableName, Record<string, unknown>[]>,
): Promise<void> {
  expect(lines.size).toBeGreaterThan(0)
  for (const [table, tableLines] of lines) {
    const file = path.join(dir, `${table}.csv`)
    await writeFile(file, `${tableLines.join('\n')}\n`)
    const out = path.join(dir, `${table}.parquet`)
    const written = await writer.writeFiles(table, { json: [], csv: [file] }, out)
    expect(written.rows).toBe(tableLines.length)
    const cols = tableColumns(table)
    const select = cols
      .map((c) =>
        c.type === 'TIMESTAMP'
          ? `epoch_ms("${c.name}")::BIGINT AS "${c.name}"`
          : `"${c.name}"::VARCHAR AS "${c.name}"`,
      )
      .join(', ')
    const got = await duckQuery(`SELECT ${select} FROM read_parquet('${out}')`)
    const expected = (want.get(table) ?? []).map((row) =>
      Object.fromEntries(
        cols.map((c) => {
          const v = row[c.name]
          if (v === null || v === undefined) return [c.name, null]
          return [c.name, String(v)]
        }),
      ),
    )
    expect(got, table).toEqual(expected)
  }
}
