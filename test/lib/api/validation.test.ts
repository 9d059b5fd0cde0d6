import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../../src/lib/api/index.js'
import { closedPort, httpRequest, rawRequest } from './http.js'

// No broker here: every case below is answered before (or instead of) a produce.
let api: ApiServer
beforeAll(async () => {
  const port = await closedPort()
  api = await startApi(
    {
      port: 0,
      bind: '127.0.0.1',
      brokers: [`127.0.0.1:${port}`],
      topic: 'game_events',
      produceTimeoutMs: 3000,
    },
    { probeBroker: async () => false },
  )
})
afterAll(() => api.close())

const get = (path: string, headers: Record<string, string> = {}) => httpRequest(api.url, path, { headers })

describe('bad input gets its status, a JSON reason, and is counted', () => {
  const cases: [string, string, string, string][] = [
    ['/add_money', 'amount', 'missing', 'amount is required'],
    ['/add_money?amount=abc', 'amount', 'not_integer', 'whole number'],
    ['/add_money?amount=1.5', 'amount', 'not_integer', 'whole number'],
    ['/add_money?amount=0', 'amount', 'not_positive', 'greater than 0'],
    ['/add_money?amount=-5', 'amount', 'not_positive', 'greater than 0'],
    ['/add_money?amount=99999999999', 'amount', 'too_large', 'at most'],
    ['/join_guild?guild_name=', 'guild_name', 'missing', 'must not be empty'],
    ['/join_guild?guild_name=%20%20', 'guild_name', 'missing', 'must not be empty'],
    [`/join_guild?guild_name=${'g'.repeat(257)}`, 'guild_name', 'too_long', 'at most 256 bytes'],
    [`/messages?message=${'m'.repeat(4097)}`, 'message', 'too_long', 'at most 4096 bytes'],
    ['/join_guild?guild_name=%FF%FE', 'guild_name', 'invalid_utf8', 'not valid UTF-8'],
  ]
  for (const [path, field, reason, rule] of cases) {
    it(`${path.slice(0, 60)} → 400 ${reason}`, async () => {
      const before = api.metrics.rejectionCount(reason)
      const r = await get(path)
      expect(r.status).toBe(400)
      expect(r.headers['content-type']).toContain('application/json')
      const body = JSON.parse(r.body)
      expect(body.ok).toBe(false)
      expect(body.error).toMatchObject({ code: 'INVALID_PARAM', field, reason })
      expect(body.error.rule).toContain(rule)
      expect(api.metrics.rejectionCount(reason)).toBe(before + 1)
    })
  }

  it('POST /messages with a non-string message, bad JSON, or another media type', async () => {
    const json = { 'Content-Type': 'application/json' }
    let r = await httpRequest(api.url, '/messages', { method: 'POST', headers: json, body: '{"message": 5}' })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body).error).toMatchObject({ field: 'message', reason: 'wrong_type' })
    r = await httpRequest(api.url, '/messages', { method: 'POST', headers: json, body: '{"message": ' })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body).error).toMatchObject({ field: 'body', reason: 'bad_json' })
    r = await httpRequest(api.url, '/messages', { method: 'POST', headers: json, body: '[1]' })
    expect(r.status).toBe(400)
    r = await httpRequest(api.url, '/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'hi',
    })
    expect(r.status).toBe(415)
    r = await httpRequest(api.url, '/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from([0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x3d, 0xff]),
    })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body).error).toMatchObject({ field: 'message', reason: 'invalid_utf8' })
    r = await httpRequest(api.url, '/messages', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ message: 'x'.repeat(4097) }),
    })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body).error).toMatchObject({ field: 'message', reason: 'too_long' })
  })

  it('unknown route → 404, wrong method → 405 with Allow', async () => {
    const r404 = await get('/purchase_a_shield')
    expect(r404.status).toBe(404)
    expect(JSON.parse(r404.body).error.reason).toBe('not_found')
    const r405 = await httpRequest(api.url, '/add_money?amount=5', { method: 'POST' })
    expect(r405.status).toBe(405)
    expect(r405.headers.allow).toBe('GET')
    const del = await httpRequest(api.url, '/messages', { method: 'DELETE' })
    expect(del.status).toBe(405)
    expect(del.headers.allow).toBe('GET, POST')
  })

  it('a declared body over 64 KB → 413 before reading it', async () => {
    const before = api.metrics.rejectionCount('body_too_large')
    const head =
      'POST /messages HTTP/1.1\r\nHost: p1\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n'
    const answer = await rawRequest(api.port, `${head}{"message":"`)
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toContain('body_too_large')
    expect(api.metrics.rejectionCount('body_too_large')).toBe(before + 1)
  })

  it('a chunked body that grows past 64 KB → 413, not buffered', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x61)
    const parts: Buffer[] = [
      Buffer.from(
        'POST /messages HTTP/1.1\r\nHost: p1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      ),
    ]
    for (let i = 0; i < 6; i++)
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
    const answer = await rawRequest(api.port, Buffer.concat(parts))
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
  })

  it('malformed requests and odd header bytes get 400 without crashing the server', async () => {
    const bad = await rawRequest(api.port, 'GET / HTTP/1.1\r\nHost: p1\r\nX-Odd: a\x01b\r\n\r\n', /\r\n\r\n$/)
    expect(bad).toMatch(/^HTTP\/1\.1 400 /)
    const garbage = await rawRequest(api.port, '\x00\xff\xfe nonsense\r\n\r\n', /\r\n\r\n$/)
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /)
    const r = await get('/metrics')
    expect(r.status).toBe(200)
    expect(r.body).toContain('game_api_rejections_total{reason="bad_request"}')
  })

  it('broker unreachable → 503 with Retry-After; /healthz says so', async () => {
    const r = await get('/add_money?amount=5')
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('1')
    expect(JSON.parse(r.body).error.code).toBe('BROKER_UNAVAILABLE')
    const h = await get('/healthz')
    expect(h.status).toBe(503)
    expect(JSON.parse(h.body)).toMatchObject({ ok: false, api: 'up', broker: 'unreachable' })
  })

  it('a broker that accepts but never answers → 503 produce_timeout after the produce timeout', async () => {
    const sockets: net.Socket[] = []
    const blackHole = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()))
    const { port } = blackHole.address() as net.AddressInfo
    const slow = await startApi({
      port: 0,
      bind: '127.0.0.1',
      brokers: [`127.0.0.1:${port}`],
      topic: 'game_events',
      produceTimeoutMs: 300,
    })
    try {
      const r = await httpRequest(slow.url, '/join_guild?guild_name=slow', { headers: { Host: 'p' } })
      expect(r.status).toBe(503)
      expect(r.headers['retry-after']).toBe('1')
      expect(JSON.parse(r.body).error.reason).toBe('produce_timeout')
      expect(slow.metrics.rejectionCount('produce_timeout')).toBe(1)
    } finally {
      for (const s of sockets) s.destroy()
      await slow.close()
      await new Promise<void>((r) => blackHole.close(() => r()))
    }
  })
})
