import { describe, expect, it } from 'vitest'
import { NO_LIMIT, parseTimeBound, reportParams } from '../../../src/lib/report/filters.js'
import { assertReadOnlySql } from '../../../src/lib/report/sql-guard.js'

describe('report filters', () => {
  it('parses ISO dates and times to UTC SQL timestamps', () => {
    expect(parseTimeBound('2019-08-09', 'since')).toBe('2019-08-09 00:00:00.000')
    expect(parseTimeBound('2019-08-09', 'until')).toBe('2019-08-10 00:00:00.000')
    expect(parseTimeBound('2019-08-09T20:49', 'since')).toBe('2019-08-09 20:49:00.000')
    expect(parseTimeBound('2019-08-09 20:49:21.5421', 'since')).toBe('2019-08-09 20:49:21.542')
    expect(parseTimeBound('2019-08-09T22:49:21+02:00', 'until')).toBe('2019-08-09 20:49:21.000')
    expect(parseTimeBound('2019-08-09T22:49:21+0200', 'until')).toBe('2019-08-09 20:49:21.000')
  })

  it.each(['tomorrow', '2019-13-01', '2019-02-29', '20190809', "2019-08-09' OR 1=1"])('refuses %j', (v) => {
    expect(() => parseTimeBound(v, 'since')).toThrow(/Invalid --since/)
  })

  it('defaults and validates limit; since must precede until', () => {
    expect(reportParams({})).toEqual({ host: null, since: null, until: null, limit: NO_LIMIT })
    expect(reportParams({}, 20).limit).toBe(20)
    expect(reportParams({ host: "x'y", limit: 3 })).toMatchObject({ host: "x'y", limit: 3 })
    expect(() => reportParams({ since: '2019-08-10', until: '2019-08-09' })).toThrow(/not before/)
    expect(() => reportParams({ limit: 0 })).toThrow(/--limit/)
  })
})

describe('assertReadOnlySql', () => {
  it.each([
    'SELECT 1',
    '  -- comment\n select * from purchases',
    '/* c */ WITH a AS (SELECT 1) SELECT * FROM a',
    'FROM purchases',
    'DESCRIBE purchases',
    'SHOW TABLES',
    'SUMMARIZE add_money',
    'EXPLAIN SELECT 1',
    "PRAGMA table_info('purchases')",
  ])('accepts %j', (sql) => {
    expect(() => assertReadOnlySql(sql)).not.toThrow()
  })

  it.each([
    "COPY purchases TO 'x.csv'",
    "ATTACH 'x.db'",
    'INSTALL httpfs',
    'LOAD httpfs',
    'CREATE TABLE x (a INT)',
    'INSERT INTO x VALUES (1)',
    'UPDATE x SET a = 1',
    'DELETE FROM x',
    'SET threads = 1',
    "EXPORT DATABASE 'x'",
    'PRAGMA enable_profiling',
    '/* SELECT */ DROP VIEW purchases',
    '',
    '   ',
    '(SELECT 1)',
  ])('refuses %j with exit 2', (sql) => {
    try {
      assertReadOnlySql(sql)
      throw new Error('accepted')
    } catch (error) {
      expect((error as { exitCode?: number }).exitCode).toBe(2)
    }
  })
})
