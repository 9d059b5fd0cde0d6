import { describe, expect, it } from 'vitest'
import { buildEvent, canonicalHeaderName, eventKey, keptHeaders } from '../../../src/lib/events/envelope.js'

describe('envelope', () => {
  it('canonicalises header names the way the seed saw them', () => {
    expect(canonicalHeaderName('user-agent')).toBe('User-Agent')
    expect(canonicalHeaderName('HOST')).toBe('Host')
    expect(canonicalHeaderName('x-forwarded-for')).toBe('X-Forwarded-For')
  })

  it('drops credentials and bounds values', () => {
    const h = keptHeaders({
      host: 'oski.berkeley.edu',
      'user-agent': 'ApacheBench/2.3',
      authorization: 'Bearer secret',
      cookie: 'a=b',
      accept: ['*/*', 'text/plain'],
      'x-long': 'y'.repeat(5000),
    })
    expect(h).toMatchObject({
      Host: 'oski.berkeley.edu',
      'User-Agent': 'ApacheBench/2.3',
      Accept: '*/*, text/plain',
    })
    expect(h.Authorization).toBeUndefined()
    expect(h.Cookie).toBeUndefined()
    expect(h['X-Long'].length).toBe(1024)
  })

  it('never lets a header override a field or the envelope', () => {
    const e = buildEvent({
      type: 'purchase_sword',
      fields: { amount: -10, description: 'Great Sword' },
      headers: keptHeaders({
        host: 'p1',
        amount: '100000',
        event_type: 'add_money',
        event_id: 'forged',
        'schema-version': '9',
      }),
      eventId: '00000000-0000-4000-8000-000000000001',
      receivedAt: new Date('2026-11-28T12:00:00Z'),
    })
    expect(e.amount).toBe(-10)
    expect(e.event_type).toBe('purchase_sword')
    expect(e.event_id).toBe('00000000-0000-4000-8000-000000000001')
    expect(e.received_at).toBe('2026-11-28T12:00:00.000Z')
    expect(e.schema_version).toBe(1)
    expect(eventKey(e)).toBe('p1')
    // Case variants of field names are dropped, not kept beside the field.
    expect(
      Object.keys(e)
        .map((k) => k.toLowerCase())
        .filter((k) => k === 'amount'),
    ).toEqual(['amount'])
    expect(e.Event_type).toBeUndefined()
    expect(e.Event_id).toBeUndefined()
  })
})
