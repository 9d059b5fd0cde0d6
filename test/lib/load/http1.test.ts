import { describe, expect, it } from 'vitest'
import { ResponseParser } from '../../../src/lib/load/http1.js'

function parse(chunks: (string | Buffer)[]): [number, boolean][] {
  const out: [number, boolean][] = []
  const p = new ResponseParser((status, keepAlive) => out.push([status, keepAlive]))
  for (const c of chunks) p.execute(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'))
  return out
}

describe('ResponseParser', () => {
  it('frames by Content-Length, keep-alive by default on HTTP/1.1', () => {
    const r =
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n'
    expect(parse([r])).toEqual([
      [200, true],
      [400, true],
    ])
  })

  it('any split of the bytes gives the same responses', () => {
    const r = Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
        'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0;ext=1\r\nX-T: y\r\n\r\n' +
        'HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno',
      'latin1',
    )
    const whole = parse([r])
    expect(whole).toEqual([
      [200, true],
      [201, true],
      [503, false],
    ])
    for (let cut = 1; cut < r.length; cut++)
      expect(parse([r.subarray(0, cut), r.subarray(cut)])).toEqual(whole)
    // one byte at a time
    expect(parse([...r].map((b) => Buffer.from([b])))).toEqual(whole)
  })

  it('skips interim 1xx responses; 204 has no body; HTTP/1.0 closes unless keep-alive', () => {
    expect(
      parse([
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n' +
          'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n',
      ]),
    ).toEqual([
      [204, true],
      [200, false],
      [200, true],
    ])
  })

  it('a body without length ends with the connection', () => {
    const out: number[] = []
    const p = new ResponseParser((s) => out.push(s))
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nsome body'))
    expect(out).toEqual([])
    expect(p.inResponse).toBe(true)
    p.end()
    expect(out).toEqual([200])
  })

  it('throws on bytes that are not an HTTP response', () => {
    expect(() => parse(['SSH-2.0-OpenSSH\r\n\r\n'])).toThrow(/not an HTTP/)
    expect(() => parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'])).toThrow(/chunk size/)
  })
})
