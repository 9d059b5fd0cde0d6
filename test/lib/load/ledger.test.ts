import { describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { diffLedger, emptyEntry, type LedgerEntry, parseLedger } from '../../../src/lib/load/ledger.js'

function entry(host: string, eventType: string, sent: number, accepted: number, amount = 0): LedgerEntry {
  return {
    ...emptyEntry(host, eventType),
    sent,
    accepted,
    unanswered: sent - accepted,
    sentAmount: amount,
    acceptedAmount: amount,
  }
}

describe('diffLedger', () => {
  it('ok when the lake has exactly the accepted events', () => {
    const rows = diffLedger(
      [entry('a', 'add_money', 3, 3, 30), entry('a', 'join_guild', 1, 1)],
      [
        { host: 'a', eventType: 'add_money', rows: 3, amount: 30 },
        { host: 'a', eventType: 'join_guild', rows: 1 },
      ],
    )
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok'])
  })

  it('missing, duplicate, unconfirmed, amount-mismatch, untracked', () => {
    const rows = diffLedger(
      [
        entry('a', 'purchase_knife', 5, 5),
        entry('b', 'purchase_knife', 5, 5),
        entry('c', 'purchase_knife', 5, 4),
        entry('d', 'add_money', 2, 2, 20),
        entry('e', 'default', 2, 2),
      ],
      [
        { host: 'a', eventType: 'purchase_knife', rows: 4 },
        { host: 'b', eventType: 'purchase_knife', rows: 6 },
        { host: 'c', eventType: 'purchase_knife', rows: 5 },
        { host: 'd', eventType: 'add_money', rows: 2, amount: 25 },
        { host: 'zz', eventType: 'add_money', rows: 9, amount: 9 },
      ],
    )
    expect(rows.map((r) => [r.host, r.status, r.difference])).toEqual([
      ['a', 'missing', -1],
      ['b', 'duplicate', 1],
      ['c', 'unconfirmed', 1],
      ['d', 'amount-mismatch', 5],
      ['e', 'untracked', 0],
    ])
  })

  it('reports lake rows of a ledger player for a type it never sent as duplicates', () => {
    const rows = diffLedger(
      [entry('a', 'join_guild', 1, 1)],
      [
        { host: 'a', eventType: 'join_guild', rows: 1 },
        { host: 'a', eventType: 'cancel_membership', rows: 2 },
      ],
    )
    expect(rows).toContainEqual(
      expect.objectContaining({ eventType: 'cancel_membership', status: 'duplicate', lake: 2 }),
    )
  })

  it('a type whose tables disagree (add_money vs transactions) is a table-mismatch', () => {
    const rows = diffLedger(
      [entry('a', 'add_money', 3, 3, 30), entry('b', 'purchase_sword', 1, 1)],
      [
        { host: 'a', eventType: 'add_money', table: 'add_money', rows: 3, amount: 30 },
        { host: 'a', eventType: 'add_money', table: 'transactions', rows: 4 },
        { host: 'b', eventType: 'purchase_sword', table: 'purchases', rows: 1 },
        { host: 'b', eventType: 'purchase_sword', table: 'transactions', rows: 1 },
      ],
    )
    expect(rows[0]).toMatchObject({
      status: 'table-mismatch',
      difference: 1,
      tables: { add_money: 3, transactions: 4 },
    })
    expect(rows[1]).toMatchObject({ status: 'ok', tables: { purchases: 1, transactions: 1 } })
  })

  it('an accepted event with no lake row at all is missing', () => {
    expect(diffLedger([entry('a', 'mensaje', 1, 1)], [])[0]).toMatchObject({
      status: 'missing',
      lake: 0,
      difference: -1,
    })
  })
})

describe('parseLedger', () => {
  it('round-trips a ledger and rejects other JSON', () => {
    const ledger = {
      formatVersion: 1,
      url: 'http://x',
      scenario: 'seed',
      seed: '1',
      startedAt: '',
      finishedAt: '',
      entries: [entry('a', 'add_money', 1, 1, 5)],
    }
    expect(parseLedger(JSON.stringify(ledger))).toEqual(ledger)
    expect(() => parseLedger('{"x":1}')).toThrow(GameError)
    expect(() => parseLedger('not json')).toThrow(/not a game load ledger/)
    expect(() =>
      parseLedger(JSON.stringify({ ...ledger, entries: [{ host: 'a', eventType: 'x', sent: -1 }] })),
    ).toThrow(/entries\[0\]/)
  })
})
