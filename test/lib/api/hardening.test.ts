/** Small HTTP holes: two Host headers, and a 413 the client can read after a big chunked upload. */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../../src/lib/api/index.js'
import { hostHeaderCount } from '../../../src/lib/api/request.js'
import { startBroker } from '../../../src/lib/broker/index.js'
import { rawRequest } from './http.js'

let broker: { host: string; port: number; close(): Promise<void> }
let api: ApiServer

beforeAll(async () => {
  broker = await startBroker({ port: 0, dataDir: '', storage: 'memory' })
  api = await startApi({
    port: 0,
    bind: '127.0.0.1',
    brokers: [`${broker.host}:${broker.port}`],
    topic: 'game_events',
    prices: { sword: 10, knife: 10 },
    produceTimeoutMs: 3000,
  })
})
afterAll(async () => {
  await api?.close()
  await broker?.close()
})

describe('API request hardening', () => {
  it('answers 400 to two Host headers (RFC 9112), whichever comes first', async () => {
    const text = await rawRequest(
      api.port,
      'GET /add_money?amount=5 HTTP/1.1\r\nHost: victim.example\r\nHost: attacker.example\r\nConnection: close\r\n\r\n',
    )
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request')
    expect(text).toContain('bad_host')
    expect(hostHeaderCount(['Host', 'a', 'X', 'y', 'HOST', 'b'])).toBe(2)
  })

  it('a 10 MB chunked POST gets a 413 the client can read, not a reset mid-upload', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: api.port })
    await new Promise<void>((r) => socket.once('connect', () => r()))
    let text = ''
    let error: Error | undefined
    socket.on('data', (d) => {
      text += d.toString('latin1')
    })
    socket.on('error', (e) => {
      error = e
    })
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    const write = (b: Buffer | string) =>
      new Promise<void>((resolve) =>
        socket.write(b, (e) => {
          if (e) error ??= e
          resolve()
        }),
      )
    await write(
      'POST /messages HTTP/1.1\r\nHost: p1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    )
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    for (let sent = 0; sent < 10 * 1024 * 1024 && !error; sent += chunk.length) {
      await write(`${chunk.length.toString(16)}\r\n`)
      await write(chunk)
      await write('\r\n')
    }
    await write('0\r\n\r\n')
    await closed
    expect(error).toBeUndefined()
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large')
  })
})
