import { describe, expect, it } from 'vitest'
import {
  ABSENT,
  ByteNames,
  INT,
  NULL,
  OTHER,
  PlainJsonScanner,
  STRING,
} from '../../../src/lib/stream/plain-json.js'
import { seededRandom } from '../../helpers/random.js'

const KEYS = ['event_type', 'event_id', 'amount', 'Host', 'guild_name', 'a', 'ab', 'ba']
const names = new ByteNames(KEYS)

/** What JSON.parse says for each key, in the scanner's terms. */
function expected(obj: Record<string, unknown>, key: string): { kind: number; value?: unknown } {
  if (!Object.hasOwn(obj, key)) return { kind: ABSENT }
  const v = obj[key]
  if (v === null) return { kind: NULL }
  if (typeof v === 'string') return { kind: STRING, value: v }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return { kind: INT, value: v }
  return { kind: OTHER }
}

/**
 * The scanner's contract on one input: when it says yes, JSON.parse agrees that the text is a
 * flat object, and every key's kind and value are what JSON.parse gives. Returns the verdict.
 */
function checkAgainstJsonParse(sc: PlainJsonScanner, text: string, framed = true): boolean {
  const bytes = Buffer.from(text, 'latin1')
  // Framed in other bytes, as a record inside a fetch response.
  const buf = framed ? Buffer.concat([Buffer.from('{"a":1,'), bytes, Buffer.from('"}]')]) : bytes
  const from = framed ? 7 : 0
  const ok = sc.scan(buf, from, from + bytes.length)
  if (!ok) return false
  let obj: unknown
  expect(() => {
    obj = JSON.parse(text)
  }, text).not.toThrow()
  expect(typeof obj === 'object' && obj !== null && !Array.isArray(obj), text).toBe(true)
  const o = obj as Record<string, unknown>
  for (const v of Object.values(o)) expect(typeof v === 'object' && v !== null, text).toBe(false)
  for (const [id, key] of KEYS.entries()) {
    const want = expected(o, key)
    // A number the scanner does not call INT (a fraction, an exponent, 16+ digits) is OTHER: the
    // caller then takes the JSON.parse path. An INT is always exact.
    if (want.kind === INT && sc.kind[id] === OTHER) continue
    expect(sc.kind[id], `${text} [${key}]`).toBe(want.kind)
    if (want.kind === STRING) expect(buf.toString('latin1', sc.start[id], sc.end[id]), text).toBe(want.value)
    if (want.kind === INT)
      expect(Object.is(sc.num[id], want.value), `${text} [${key}] ${sc.num[id]}`).toBe(true)
  }
  return true
}

describe('PlainJsonScanner', () => {
  it('reads flat ASCII objects exactly as JSON.parse does', () => {
    const sc = new PlainJsonScanner(names)
    const yes = [
      '{}',
      ' { } ',
      '{"event_type":"join_guild","guild_name":"knights","Host":"h.example.com"}',
      '{"amount":-10,"event_id":"00000000-0000-4000-8000-000000000001"}',
      '{"amount":0}',
      '{"amount":-0}',
      '{"amount":123456789012345}',
      '{"amount":-999999999999999}',
      '{"amount":1234567890123456,"a":1.0,"ab":1e2}',
      '{"amount":1.5,"Host":null,"a":true,"ab":false,"ba":1e3}',
      '{"amount":1E+3,"x":2e-3,"y":-0.0}',
      '{\t"a"\t:\t"x y"\t,  "ab" : ""  }',
      '{"other":"value","another":[],"z":1}'.replace('[]', '"[]"'),
      '{"a":"tab\there is fine? no"}'.replace('\t', ' '),
      '{"event_type":"x","EVENT_TYPE":"y","event_typ":"z","event_type_":"w"}',
      '{"":"empty key","a":"~!@#$%^&*()_+{}|:<>?[];,./"}',
    ]
    for (const text of yes) expect(checkAgainstJsonParse(sc, text), text).toBe(true)
  })

  it('declines whatever it cannot read exactly, and invalid JSON', () => {
    const sc = new PlainJsonScanner(names)
    const no = [
      '',
      ' ',
      '[]',
      '"x"',
      '1',
      'null',
      '{',
      '}',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '{,"a":1}',
      '{"a":1 "ab":2}',
      '{"a":1}x',
      '{"a":1}{}',
      '{"a":01}',
      '{"a":-}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":1e}',
      '{"a":+1}',
      '{"a":tru}',
      '{"a":nul}',
      '{"a":NaN}',
      '{"a":"x\\"y"}',
      '{"a":"\\u0041"}',
      '{"a":"line\nbreak"}',
      '{"a":"tab\tinside"}',
      '{"a":\n1}',
      '{"a":1}\r\n',
      '{"a":"caf\u00e9"}',
      '{"a":{"b":1}}',
      '{"a":[1]}',
      '{"a":"x","a":"y"}',
      "{'a':1}",
      '{"a":"unterminated}',
    ]
    for (const text of no) expect(checkAgainstJsonParse(sc, text), JSON.stringify(text)).toBe(false)
  })

  it('never says yes to what JSON.parse reads differently (mutation fuzz)', () => {
    const sc = new PlainJsonScanner(names)
    const seeds = [
      '{"event_type":"purchase_sword","amount":-10,"Host":"user1.comcast.com","event_id":"e-1"}',
      '{"a":1,"ab":"two","ba":null,"guild_name":"g","x":true,"y":false,"z":-0.5e3}',
      '{ "amount" : 42 , "event_type" : "add_money" }',
    ]
    const alphabet = '{}[]":,.-+eE0123456789 \t\n\\abnulltrfs\u00e9\u0001x'
    const { int: rnd } = seededRandom(20261128)
    let accepted = 0
    let rejected = 0
    for (let i = 0; i < 20000; i++) {
      let text = seeds[rnd(seeds.length)]
      for (let m = rnd(3) + 1; m > 0; m--) {
        const at = rnd(text.length + 1)
        const ch = alphabet[rnd(alphabet.length)]
        const op = rnd(3)
        text =
          op === 0
            ? text.slice(0, at) + ch + text.slice(at)
            : op === 1
              ? text.slice(0, at) + text.slice(at + 1)
              : text.slice(0, at) + ch + text.slice(at + 1)
      }
      if (checkAgainstJsonParse(sc, text, i % 2 === 0)) accepted += 1
      else rejected += 1
    }
    // Both verdicts happen a lot, so the property was exercised both ways.
    expect(accepted).toBeGreaterThan(2000)
    expect(rejected).toBeGreaterThan(2000)
  })

  it('calls integers of up to 15 digits INT, and other numbers OTHER', () => {
    const sc = new PlainJsonScanner(names)
    const kindOf = (v: string) => {
      expect(sc.scan(Buffer.from(`{"amount":${v}}`), 0, 11 + v.length), v).toBe(true)
      return [sc.kind[2], sc.num[2]]
    }
    expect(kindOf('123456789012345')).toEqual([INT, 123456789012345])
    expect(kindOf('-123456789012345')).toEqual([INT, -123456789012345])
    expect(kindOf('1234567890123456')[0]).toBe(OTHER)
    expect(kindOf('1.0')[0]).toBe(OTHER)
    expect(kindOf('1e2')[0]).toBe(OTHER)
    expect(kindOf('"7"')[0]).toBe(STRING)
  })

  it('finds names by bytes, with names sharing a length and first byte', () => {
    const n = new ByteNames(['ab', 'ac', 'abc', 'b', ''])
    const buf = Buffer.from('xxabacabcbd')
    expect(n.find(buf, 2, 4)).toBe(0)
    expect(n.find(buf, 4, 6)).toBe(1)
    expect(n.find(buf, 6, 9)).toBe(2)
    expect(n.find(buf, 9, 10)).toBe(3)
    expect(n.find(buf, 10, 11)).toBe(-1)
    expect(n.find(buf, 3, 3)).toBe(4)
    expect(n.find(buf, 0, 2)).toBe(-1)
    expect(() => new ByteNames(['caf\u00e9'])).toThrow(/ASCII/)
    // Long names share the last length slot: told apart by their length.
    const long = new ByteNames(['k'.repeat(63), 'k'.repeat(64), 'k'.repeat(100)])
    for (const len of [63, 64, 100])
      expect(long.find(Buffer.from('k'.repeat(len)), 0, len)).toBe([63, 64, 100].indexOf(len))
    expect(long.find(Buffer.from('k'.repeat(65)), 0, 65)).toBe(-1)
  })
})
