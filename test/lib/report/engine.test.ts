import { rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { TABLE_NAMES, tableColumns } from '../../../src/lib/events/catalog.js'
import { type LakeQuery, openLakeQuery } from '../../../src/lib/report/engine.js'
import { REPORT_NAMES, runReport } from '../../../src/lib/report/reports.js'
import { commitEvents, fileLake, seedEvents, tempDir, writeUncommitted } from '../../helpers/lake-fixture.js'

let dir: string
let q: LakeQuery

async function failure(p: Promise<unknown>): Promise<GameError> {
  try {
    await p
  } catch (error) {
    expect(error).toBeInstanceOf(GameError)
    return error as GameError
  }
  throw new Error('expected a failure')
}

beforeAll(async () => {
  dir = await tempDir()
  const lake = fileLake(path.join(dir, 'lake'))
  await commitEvents(lake, seedEvents())
  // Data that is not committed: a staged flush and a stray file in a table directory.
  const stray = [{ type: 'add_money', host: 'ghost', ts: '2019-08-09T10:00:00.000Z', amount: 999 }]
  await writeUncommitted(lake, stray, '_game/staging/abc/add_money/dt=2019-08-09/part-abc-00000.parquet')
  await writeUncommitted(lake, stray, 'add_money/dt=2019-08-09/part-uncommitted-00000.parquet')
  q = await openLakeQuery({ lake, cacheDir: path.join(dir, 'cache') })
})

afterAll(async () => {
  q?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('openLakeQuery', () => {
  it('reads only committed files, in place for file:// lakes', async () => {
    const r = await q.query(`SELECT COUNT(*) AS n FROM add_money WHERE Host = 'ghost'`)
    expect(r.rows).toEqual([{ n: 0 }])
    expect(q.snapshot.fetched).toBe(0)
    const t = q.tables().find((x) => x.name === 'add_money')!
    expect(t.files).toBe(2) // two days
    expect(t.rows).toBe(121)
  })

  it('registers every table with the seed names and columns (+ dt partition)', () => {
    expect(q.tables().map((t) => t.name)).toEqual([...TABLE_NAMES])
    for (const t of q.tables()) {
      expect(t.columns.map((c) => c.name)).toEqual([...tableColumns(t.name).map((c) => c.name), 'dt'])
    }
    const tx = q.tables().find((x) => x.name === 'transactions')!
    expect(tx.columns.find((c) => c.name === 'amount')?.type).toBe('BIGINT')
    expect(tx.columns.find((c) => c.name === 'timestamp')?.type).toBe('TIMESTAMP')
  })

  it('an empty table is a view with no rows but the right columns', async () => {
    const r = await q.query('SELECT reason, kafka_offset, dt FROM rejected')
    expect(r.rows).toEqual([])
    expect(r.columns).toEqual([
      { name: 'reason', type: 'VARCHAR' },
      { name: 'kafka_offset', type: 'BIGINT' },
      { name: 'dt', type: 'DATE' },
    ])
  })

  it('binds positional and named parameters; numbers are JS numbers, timestamps ISO', async () => {
    const r = await q.query(
      'SELECT Host, SUM(amount) AS s, MIN(timestamp) AS t FROM add_money WHERE Host = $1 GROUP BY Host',
      ['tree.stanfurd.edu'],
    )
    expect(r.rows).toEqual([{ Host: 'tree.stanfurd.edu', s: 1, t: '2019-08-09T20:05:00.000Z' }])
    expect(r.columns.map((c) => c.type)).toEqual(['VARCHAR', 'HUGEINT', 'TIMESTAMP'])
    const named = await q.query('SELECT COUNT(*) AS n FROM purchases WHERE description = $d', {
      d: 'Great Sword',
    })
    expect(named.rows).toEqual([{ n: 2 }])
  })

  it('runs the notebook queries unchanged (Spark SQL → DuckDB)', async () => {
    const r = await q.query(
      "select event_type, count(event_type) from purchases where host = 'oski.berkeley.edu' group by event_type order by 2",
    )
    expect(r.rows).toEqual([
      { event_type: 'purchase_sword', 'count(event_type)': 2 },
      { event_type: 'purchase_knife', 'count(event_type)': 15 },
    ])
    const t = await q.query('select Host, sum(amount) from transactions group by Host order by Host')
    expect(t.rows.map((x) => x['sum(amount)'])).toEqual([150, 9830, 1])
  })

  it('SQL errors carry DuckDB message and the available tables and columns (exit 1)', async () => {
    const e = await failure(q.query('SELECT nope FROM purchases'))
    expect(e.code).toBe('QUERY_FAILED')
    expect(e.exitCode).toBe(1)
    expect(e.message).toMatch(/nope/)
    expect(e.hint).toMatch(
      /purchases\(raw_event, timestamp, Accept, Host, User-Agent, event_type, amount, description, event_id, dt\)/,
    )
    expect(e.hint).toMatch(/guild_membership\(/)
  })

  it.each([
    ["COPY purchases TO '/tmp/x.csv'"],
    ["ATTACH '/tmp/x.db'"],
    ['INSTALL httpfs'],
    ['LOAD httpfs'],
    ['CREATE TABLE t AS SELECT 1'],
    ['INSERT INTO purchases SELECT * FROM purchases'],
    ['DELETE FROM purchases'],
    ['DROP VIEW purchases'],
    ['SET enable_external_access = true'],
    ["EXPORT DATABASE '/tmp/x'"],
    ['SELECT 1; DROP VIEW purchases'],
    ["CALL pragma_table_info('purchases')"],
  ])('refuses %s (exit 2) and the views survive', async (sql) => {
    const e = await failure(q.query(sql))
    expect(e.code).toBe('USAGE')
    expect(e.exitCode).toBe(2)
    const still = await q.query('SELECT COUNT(*) AS n FROM purchases')
    expect(still.rows).toEqual([{ n: 17 }])
  })

  it.each([
    ["SELECT * FROM read_csv('/etc/passwd')"],
    ["SELECT * FROM read_text('/etc/hostname')"],
    ["SELECT * FROM read_parquet('/tmp/*.parquet')"],
    ["SELECT * FROM 'https://example.com/x.parquet'"],
  ])('refuses to read files outside the snapshot: %s', async (sql) => {
    const e = await failure(q.query(sql))
    expect(e.code).toBe('QUERY_FAILED')
    expect(e.message).toMatch(/Permission Error|disabled|not allowed/i)
  })

  it('accepts DESCRIBE, SHOW TABLES, SUMMARIZE, EXPLAIN, PRAGMA table_info', async () => {
    expect((await q.query('SHOW TABLES')).rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['purchases', 'rejected']),
    )
    expect((await q.query('DESCRIBE messages')).rows.length).toBe(tableColumns('messages').length + 1)
    expect((await q.query('SUMMARIZE add_money')).rows.length).toBeGreaterThan(0)
    expect((await q.query('EXPLAIN SELECT * FROM purchases')).rows.length).toBeGreaterThan(0)
    expect((await q.query("PRAGMA table_info('purchases')")).rows.map((r) => r.name)).toContain('description')
  })
})

describe('hostile filter values are bound, never run', () => {
  const hostile = [
    "oski.berkeley.edu' OR '1'='1",
    "'; DROP VIEW purchases; --",
    'x"); DROP VIEW transactions; --',
    '$host',
    'тест-игрок.例え.jp 🗡️',
    "\\' OR 1=1 --",
    '',
  ]
  it.each(hostile)('--host %j returns no rows in every report and drops nothing', async (host) => {
    for (const name of REPORT_NAMES) {
      const rows = (await runReport(name, { query: q, filters: { host } })).rows as unknown as Record<
        string,
        unknown
      >[]
      if (name === 'overview') {
        expect(rows.filter((r) => r.metric === 'events')).toEqual([])
        expect(rows.find((r) => r.metric === 'players')?.value).toBe(0)
      } else {
        expect(rows).toEqual([])
      }
    }
    expect((await q.query('SELECT COUNT(*) AS n FROM transactions')).rows).toEqual([{ n: 138 }])
  })

  it('a unicode host that exists is matched exactly', async () => {
    const dir2 = await tempDir()
    try {
      const lake = fileLake(path.join(dir2, 'lake'))
      const host = "тест-игрок.例え.jp 🗡️ o'brien"
      await commitEvents(lake, [{ type: 'add_money', host, ts: '2020-01-01T00:00:00.000Z', amount: 7 }])
      const q2 = await openLakeQuery({ lake, cacheDir: path.join(dir2, 'cache') })
      try {
        const { rows } = await runReport('money', { query: q2, filters: { host } })
        expect(rows).toEqual([{ host, sum: 7, avg: 7, count: 1 }])
      } finally {
        q2.close()
      }
    } finally {
      await rm(dir2, { recursive: true, force: true })
    }
  })

  it.each([
    ["2019-08-09'; DROP VIEW purchases; --"],
    ['yesterday'],
    ['2019-02-30'],
    ['2019-08-09T25:00'],
    [''],
  ])('--since %j is a usage error (exit 2)', async (since) => {
    const e = await failure(runReport('balances', { query: q, filters: { since } }))
    expect(e.exitCode).toBe(2)
    expect(e.message).toMatch(/--since/)
  })

  it.each([[0], [-1], [1.5], [Number.NaN]])('--limit %s is a usage error', async (limit) => {
    const e = await failure(runReport('balances', { query: q, filters: { limit } }))
    expect(e.exitCode).toBe(2)
  })
})

describe('an empty or missing lake', () => {
  it('opens with empty views; every report returns no rows', async () => {
    const dir2 = await tempDir()
    try {
      const q2 = await openLakeQuery({
        lake: fileLake(path.join(dir2, 'nothing-here')),
        cacheDir: path.join(dir2, 'c'),
      })
      try {
        expect(q2.empty).toBe(true)
        for (const name of REPORT_NAMES) {
          const { rows } = await runReport(name, { query: q2 })
          if (name !== 'overview') expect(rows).toEqual([])
        }
        const o = await runReport('overview', { query: q2 })
        expect(o.rows.find((r) => r.metric === 'events_total')?.value).toBe(0)
      } finally {
        q2.close()
      }
    } finally {
      await rm(dir2, { recursive: true, force: true })
    }
  })
})
