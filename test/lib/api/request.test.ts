import { describe, expect, it } from 'vitest'
import { mediaType, parseForm, splitTarget, wantsJson } from '../../../src/lib/api/request.js'

describe('splitTarget', () => {
  it('splits path and query at the first ?', () => {
    expect(splitTarget('/add_money?amount=5&x=?')).toEqual({ path: '/add_money', query: 'amount=5&x=?' })
    expect(splitTarget('/')).toEqual({ path: '/', query: '' })
  })
})

describe('parseForm', () => {
  it('decodes percent escapes and + as space, first occurrence wins', () => {
    expect(parseForm('a=1&b=x+y%21&a=2&c')).toEqual({ a: '1', b: 'x y!', c: '' })
  })
  it('plain ASCII queries (fast path) parse the same way, first occurrence wins', () => {
    expect(parseForm('a=1&b=two&a=2&c&&d=')).toEqual({ a: '1', b: 'two', c: '', d: '' })
    expect(parseForm('message=b123')).toEqual({ message: 'b123' })
    expect(Object.getPrototypeOf(parseForm('x=1'))).toBe(null)
  })
  it('decodes UTF-8 escapes and raw UTF-8 bytes (latin1 request target)', () => {
    expect(parseForm('g=%C3%A9t%C3%A9').g).toBe('été')
    expect(parseForm(Buffer.from('g=été', 'utf8').toString('latin1')).g).toBe('été')
  })
  it('turns invalid UTF-8 into U+FFFD so validation can reject it', () => {
    expect(parseForm('g=%FF%FE').g).toContain('\uFFFD')
    expect(parseForm(Buffer.from([0x67, 0x3d, 0xc3])).g).toBe('\uFFFD')
  })
  it('keeps malformed escapes literally and never throws', () => {
    expect(parseForm('a=%zz%4&b=%')).toEqual({ a: '%zz%4', b: '%' })
    expect(parseForm('&&=&')).toEqual({ '': '' })
  })
  it('has no prototype keys', () => {
    const f = parseForm('__proto__=x&constructor=y')
    expect(Object.entries(f)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ])
    expect(Object.getPrototypeOf(f)).toBe(null)
  })
})

describe('wantsJson', () => {
  it('is true only for an explicit JSON media type', () => {
    expect(wantsJson('application/json')).toBe(true)
    expect(wantsJson('text/html, application/json;q=0.9')).toBe(true)
    expect(wantsJson('application/problem+json')).toBe(true)
    expect(wantsJson('*/*')).toBe(false)
    expect(wantsJson('text/plain')).toBe(false)
    expect(wantsJson(undefined)).toBe(false)
    expect(wantsJson('application/jsonx')).toBe(false)
  })
})

describe('mediaType', () => {
  it('drops parameters and lower-cases', () => {
    expect(mediaType('Application/JSON; charset=utf-8')).toBe('application/json')
    expect(mediaType(undefined)).toBe('')
  })
})
