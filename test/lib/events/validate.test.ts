import { describe, expect, it } from 'vitest'
import { eventTypeSpec } from '../../../src/lib/events/catalog.js'
import { validateParams } from '../../../src/lib/events/validate.js'

const addMoney = eventTypeSpec('add_money')!
const join = eventTypeSpec('join_guild')!
const message = eventTypeSpec('mensaje')!

describe('validateParams', () => {
  it('accepts and types valid input', () => {
    expect(validateParams(addMoney, { amount: '100' })).toEqual({ ok: true, params: { amount: 100 } })
    expect(validateParams(join, { guild_name: 'berkeley' })).toEqual({
      ok: true,
      params: { guild_name: 'berkeley' },
    })
  })

  it.each([
    [{}, 'missing'],
    [{ amount: '' }, 'missing'],
    [{ amount: 'ten' }, 'not_integer'],
    [{ amount: '1.5' }, 'not_integer'],
    [{ amount: '-5' }, 'not_positive'],
    [{ amount: '-1.5' }, 'not_integer'],
    [{ amount: '0' }, 'not_positive'],
    [{ amount: '99999999999' }, 'too_large'],
    [{ amount: '1e3' }, 'not_integer'],
  ])('rejects add_money %j as %s', (input, reason) => {
    const r = validateParams(addMoney, input)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.reason).toBe(reason)
      expect(r.error.field).toBe('amount')
      expect(r.error.rule).toContain('amount')
    }
  })

  it('rejects empty guild names, overlong strings, messages over 4 KB and invalid UTF-8', () => {
    expect(validateParams(join, { guild_name: '   ' })).toMatchObject({
      ok: false,
      error: { reason: 'missing' },
    })
    expect(validateParams(join, { guild_name: 'x'.repeat(300) })).toMatchObject({
      ok: false,
      error: { reason: 'too_long' },
    })
    expect(validateParams(message, { message: 'é'.repeat(2049) })).toMatchObject({
      ok: false,
      error: { reason: 'too_long' },
    })
    expect(validateParams(message, { message: 'ok'.repeat(2048) }).ok).toBe(true)
    expect(validateParams(message, { message: 'bad \uFFFD byte' })).toMatchObject({
      ok: false,
      error: { reason: 'invalid_utf8' },
    })
    expect(validateParams(message, { message: { nested: true } })).toMatchObject({
      ok: false,
      error: { reason: 'wrong_type' },
    })
  })

  it('takes the first of repeated query values and applies defaults', () => {
    expect(validateParams(addMoney, { amount: ['5', '6'] })).toEqual({ ok: true, params: { amount: 5 } })
    expect(validateParams(eventTypeSpec('purchase_knife')!, {})).toEqual({
      ok: true,
      params: { knife_type: '' },
    })
  })
})
