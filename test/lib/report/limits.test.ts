/** game query limits: read-only guard incl. EXPLAIN ANALYZE, timeout, memory limit; unreadable files skipped. */
import { readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { defaultMemoryLimit, type LakeQuery, openLakeQuery } from '../../../src/lib/report/engine.js'
import { lakeReport } from '../../../src/lib/report/index.js'
import { writeKeyword } from '../../../src/lib/report/sql-guard.js'
import { commitEvents, fileLake, seedEvents, tempDir } from '../../helpers/lake-fixture.js'

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
  q = await openLakeQuery({ lake, cacheDir: path.join(dir, 'cache'), timeoutMs: 1500, memoryLimit: '300MB' })
})

afterAll(async () => {
  q?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('game query: read-only guard', () => {
  it.each([
    'EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1',
    'EXPLAIN CREATE TABLE x AS SELECT 1',
    'explain analyze drop view purchases',
    'EXPLAIN (FORMAT JSON) INSERT INTO x VALUES (1)',
    'DESCRIBE CREATE TABLE y (a INT)',
    'SUMMARIZE DROP VIEW purchases',
    "SELECT 1; ATTACH 'x.db'",
    'WITH a AS (SELECT 1) SELECT * FROM a; DROP VIEW purchases',
    "FROM purchases; COPY purchases TO '/tmp/x.csv'",
    'SELECT 1 /* ok */ ; INSTALL httpfs',
  ])('refuses %s (exit 2) and the views survive', async (sql) => {
    const e = await failure(q.query(sql))
    expect(e.code).toBe('USAGE')
    expect(e.exitCode).toBe(2)
    const r = await q.query('SELECT COUNT(*) AS n FROM purchases')
    expect(Number(r.rows[0].n)).toBeGreaterThan(0)
  })

  it('still runs reads whose literals or quoted names contain write words', async () => {
    const r = await q.query(`SELECT 'drop table x; set y' AS "create", 1 AS "update" FROM purchases LIMIT 1`)
    expect(r.rows).toEqual([{ create: 'drop table x; set y', update: 1 }])
    await q.query('EXPLAIN ANALYZE SELECT COUNT(*) FROM purchases')
  })

  it('writeKeyword skips comments, literals, quoted names and qualified names', () => {
    expect(writeKeyword(`SELECT t.set FROM t -- drop\n/* create */ WHERE a = 'insert'`)).toBeNull()
    expect(writeKeyword('select 1 from t where x in (select 1); load x')).toBe('LOAD')
  })
})

describe('game query: limits', () => {
  it('stops a statement that runs past the timeout with QUERY_TIMEOUT', async () => {
    const started = Date.now()
    const e = await failure(q.query('SELECT COUNT(*) FROM range(10000000000000) a'))
    expect(e.code).toBe('QUERY_TIMEOUT')
    expect(e.hint).toContain('GAME_QUERY_TIMEOUT_MS')
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('sets a memory_limit (given, or a quarter of RAM by default)', async () => {
    const r = await q.query(`SELECT current_setting('memory_limit') AS m`)
    expect(String(r.rows[0].m)).toBe('286.1 MiB')
    expect(defaultMemoryLimit(16_000_000_000)).toBe('4000MB')
    expect(defaultMemoryLimit(100)).toBe('256MB')
  })
})

describe('reports: one unreadable Parquet file', () => {
  it('is skipped with a warning naming it, in the result (--json) too', async () => {
    const d = await tempDir()
    try {
      const lake = fileLake(path.join(d, 'lake'))
      await commitEvents(lake, seedEvents())
      const day = path.join(d, 'lake', 'add_money')
      const dt = (await readdir(day)).sort()[0]
      const file = path.join(day, dt, (await readdir(path.join(day, dt)))[0])
      await writeFile(file, 'not parquet at all')
      const { result } = await lakeReport('balances', { lake, cacheDir: path.join(d, 'cache') })
      expect(result.rows.length).toBeGreaterThan(0)
      expect(result.warnings).toHaveLength(1)
      expect(result.warnings?.[0]).toContain(file)
    } finally {
      await rm(d, { recursive: true, force: true })
    }
  })
})
