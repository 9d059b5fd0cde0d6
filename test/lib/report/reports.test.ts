import { rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LakeQuery, openLakeQuery } from '../../../src/lib/report/engine.js'
import { runReport } from '../../../src/lib/report/reports.js'
import { commitEvents, fileLake, seedEvents, tempDir } from '../../helpers/lake-fixture.js'

let dir: string
let q: LakeQuery

beforeAll(async () => {
  dir = await tempDir()
  const lake = fileLake(path.join(dir, 'lake'))
  const events = seedEvents()
  // Two commits, as two stream flushes would publish them.
  await commitEvents(lake, events.slice(0, 60))
  await commitEvents(lake, events.slice(60))
  q = await openLakeQuery({ lake, cacheDir: path.join(dir, 'cache') })
})

afterAll(async () => {
  q?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('reports over the seed notebook lake', () => {
  it('balances: per host added, spent, balance, transactions (oski 9830)', async () => {
    const { report, rows } = await runReport('balances', { query: q })
    expect(report).toBe('balances')
    expect(rows).toEqual([
      { host: 'oski.berkeley.edu', added: 10000, spent: 170, balance: 9830, transactions: 117 },
      { host: 'localhost', added: 150, spent: 0, balance: 150, transactions: 20 },
      { host: 'tree.stanfurd.edu', added: 1, spent: 0, balance: 1, transactions: 1 },
    ])
  })

  it('purchases: per item type and description, --host narrows', async () => {
    const all = await runReport('purchases', { query: q })
    expect(all.rows).toEqual([
      { event_type: 'purchase_knife', description: '', count: 15, spent: 150, buyers: 1 },
      { event_type: 'purchase_sword', description: 'Great Sword', count: 2, spent: 20, buyers: 1 },
    ])
    const oski = await runReport('purchases', { query: q, filters: { host: 'oski.berkeley.edu' } })
    expect(oski.rows).toEqual(all.rows)
    const none = await runReport('purchases', { query: q, filters: { host: 'localhost' } })
    expect(none.rows).toEqual([])
  })

  it("money: the seed's sum/avg/count per host", async () => {
    const { rows } = await runReport('money', { query: q })
    expect(rows).toEqual([
      { host: 'localhost', sum: 150, avg: 7.5, count: 20 },
      { host: 'oski.berkeley.edu', sum: 10000, avg: 100, count: 100 },
      { host: 'tree.stanfurd.edu', sum: 1, avg: 1, count: 1 },
    ])
  })

  it('guilds: joins, cancels, members, churn and median time to cancel', async () => {
    const { rows } = await runReport('guilds', { query: q })
    expect(rows).toEqual([
      {
        guild_name: 'berkeley',
        joins: 1,
        cancels: 0,
        members: 1,
        churn_pct: 0,
        median_time_to_cancel_s: null,
      },
      {
        guild_name: 'stanford',
        joins: 1,
        cancels: 1,
        members: 0,
        churn_pct: 100,
        median_time_to_cancel_s: 25,
      },
    ])
  })

  it('messages: latest first with host and ISO time; --limit', async () => {
    const { rows } = await runReport('messages', { query: q })
    expect(rows).toEqual([
      {
        timestamp: '2019-08-10T21:00:04.000Z',
        host: 'localhost:5000',
        message: 'this is a POST message - booyah!',
      },
      { timestamp: '2019-08-10T21:00:00.000Z', host: 'localhost:5000', message: 'this is a GET message' },
    ])
    const one = await runReport('messages', { query: q, filters: { limit: 1 } })
    expect(one.rows.map((r) => r.message)).toEqual(['this is a POST message - booyah!'])
  })

  it('overview: events per type, players, paying players, coins, ARPPU, per day', async () => {
    const { rows } = await runReport('overview', { query: q })
    const get = (metric: string, key: string | null = null) =>
      rows.find((r) => r.metric === metric && r.key === key)?.value
    expect(get('events', 'add_money')).toBe(121)
    expect(get('events', 'purchase_knife')).toBe(15)
    expect(get('events', 'purchase_sword')).toBe(2)
    expect(get('events', 'join_guild')).toBe(2)
    expect(get('events', 'cancel_membership')).toBe(1)
    expect(get('events', 'mensaje')).toBe(2)
    expect(get('events_total')).toBe(143)
    // localhost, oski, tree.stanfurd, tree.stanford, berkeley.edu, localhost:5000
    expect(get('players')).toBe(6)
    expect(get('paying_players')).toBe(3)
    expect(get('coins_added')).toBe(10151)
    expect(get('coins_spent')).toBe(170)
    expect(get('arppu')).toBe(3383.67)
    expect(get('events_per_day', '2019-08-09')).toBe(131)
    expect(get('events_per_day', '2019-08-10')).toBe(12)
    expect(get('rejected')).toBe(0)
  })

  it('--since / --until narrow by time (a date alone as --until includes that day)', async () => {
    const day1 = await runReport('money', { query: q, filters: { until: '2019-08-09' } })
    expect(day1.rows.find((r) => r.host === 'localhost')).toEqual({
      host: 'localhost',
      sum: 50,
      avg: 5,
      count: 10,
    })
    const day2 = await runReport('money', { query: q, filters: { since: '2019-08-10T00:00:00Z' } })
    expect(day2.rows).toEqual([{ host: 'localhost', sum: 100, avg: 10, count: 10 }])
    // Offsets are honoured: 2019-08-10T01:00+02:00 is 2019-08-09T23:00Z, before every day-2 event.
    const tz = await runReport('money', { query: q, filters: { since: '2019-08-10T01:00:00+02:00' } })
    expect(tz.rows).toEqual(day2.rows)
  })
})
