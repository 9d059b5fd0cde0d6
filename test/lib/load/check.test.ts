import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CheckResult,
  checkHint,
  checkLedger,
  countSql,
  countTables,
} from '../../../src/lib/load/check.js'
import { emptyEntry, type Ledger } from '../../../src/lib/load/ledger.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-check-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('countTables', () => {
  it('counts every table a type lands in (transactions too) and skips default', () => {
    const t = countTables()
    expect(Object.fromEntries(t)).toEqual({
      purchases: ['purchase_sword', 'purchase_knife'],
      transactions: ['purchase_sword', 'purchase_knife', 'add_money'],
      add_money: ['add_money'],
      guild_membership: ['join_guild'],
      cancel_membership: ['cancel_membership'],
      messages: ['mensaje'],
    })
    expect(countSql('add_money')).toContain('sum(amount)')
    expect(countSql('messages')).toContain('NULL AS amount')
    expect(countSql('messages')).not.toContain('WHERE')
    // one run's rows: its User-Agent, bound as a parameter, never spliced
    expect(countSql('purchases', true)).toContain('WHERE "User-Agent" = $1')
  })
})

describe('checkLedger', () => {
  it('ok when the counts match, problems when not; the lake counter is injected', async () => {
    const ledger: Ledger = {
      formatVersion: 1,
      url: 'http://x',
      scenario: 'seed',
      seed: '1',
      startedAt: '',
      finishedAt: '',
      entries: [
        { ...emptyEntry('a', 'add_money'), sent: 2, accepted: 2, sentAmount: 7, acceptedAmount: 7 },
        { ...emptyEntry('a', 'default'), sent: 1, accepted: 1 },
      ],
    }
    const file = path.join(dir, 'l.json')
    await writeFile(file, JSON.stringify(ledger))
    const options = { ledgerFile: file, lake: `file://${dir}/lake`, hdfsUser: 'game', dataDir: dir }
    const good = await checkLedger(options, {
      countLake: async () => ({
        counts: [{ host: 'a', eventType: 'add_money', rows: 2, amount: 7 }],
        missingFiles: [],
      }),
    })
    expect(good.ok).toBe(true)
    expect(good.rows.map((r) => r.status)).toEqual(['ok', 'untracked'])
    expect(good.totals).toEqual({ sent: 3, accepted: 3, lake: 2 })
    const bad = await checkLedger(options, {
      countLake: async () => ({
        counts: [{ host: 'a', eventType: 'add_money', rows: 1, amount: 5 }],
        missingFiles: ['x'],
      }),
    })
    expect(bad.ok).toBe(false)
    expect(bad.problems).toBe(1)
    expect(bad.missingFiles).toEqual(['x'])
  })
})

describe('run ids', () => {
  it("a ledger with a run id counts only that run's rows (its User-Agent goes to the counter)", async () => {
    const ledger: Ledger = {
      formatVersion: 1,
      url: 'http://x',
      scenario: 'seed',
      seed: '1',
      runId: 'abcd1234',
      userAgent: 'game-load/1 (run abcd1234)',
      startedAt: '',
      finishedAt: '',
      entries: [{ ...emptyEntry('a', 'join_guild'), sent: 1, accepted: 1 }],
    }
    const file = path.join(dir, 'run.json')
    await writeFile(file, JSON.stringify(ledger))
    const agents: (string | undefined)[] = []
    const r = await checkLedger(
      { ledgerFile: file, lake: `file://${dir}/lake`, hdfsUser: 'game', dataDir: dir },
      {
        countLake: async (_lake, _cache, _signal, userAgent) => {
          agents.push(userAgent)
          return { counts: [{ host: 'a', eventType: 'join_guild', rows: 1 }], missingFiles: [] }
        },
      },
    )
    expect(agents).toEqual(['game-load/1 (run abcd1234)'])
    expect(r).toMatchObject({ ok: true, runId: 'abcd1234' })
  })
})

describe('checkHint', () => {
  const base: CheckResult = {
    ok: false,
    ledgerFile: 'run.json',
    lake: 'file:///x',
    scenario: 'seed',
    problems: 1,
    totals: { sent: 1, accepted: 1, lake: 0 },
    missingFiles: [],
    rows: [
      {
        host: 'a',
        eventType: 'join_guild',
        sent: 1,
        accepted: 1,
        lake: 0,
        status: 'missing',
        difference: -1,
      },
    ],
  }

  it('missing: run game stream --once, then check again', () => {
    expect(checkHint(base)).toContain('run `game stream --once`')
    expect(checkHint(base)).toContain('`game check --ledger run.json` again')
  })

  it('duplicate: says whether the ledger has a run id', () => {
    const dup = { ...base, rows: [{ ...base.rows[0], lake: 2, status: 'duplicate' as const, difference: 1 }] }
    expect(checkHint(dup)).toContain('This ledger has no run id')
    expect(checkHint({ ...dup, runId: 'abcd1234' })).toContain('Rows of this run landed twice')
  })
})
