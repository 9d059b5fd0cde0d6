import { afterEach, describe, expect, it } from 'vitest'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import { RawClient } from './raw-client.js'

const MiB = 1024 * 1024
let broker: BrokerHandle | undefined
const clients: RawClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await broker?.close()
  broker = undefined
})

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port)
  clients.push(c)
  return c
}

/** ApiVersions v0 answered with error 0: the broker still serves this connection. */
async function served(c: RawClient): Promise<void> {
  const r = await c.request(18, 0)
  expect(r.int16()).toBe(0)
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('broker connection limits (issue 17)', () => {
  it('refuses connections beyond maxConnections and accepts again once one closes', async () => {
    broker = await startBroker({ port: 0, dataDir: '', storage: 'memory', maxConnections: 2 })
    const a = await connect(broker.port)
    const b = await connect(broker.port)
    await served(a)
    await served(b)
    const c = await connect(broker.port)
    await c.closed
    expect(broker.stats().refusedConnections).toBe(1)
    a.close()
    await until(() => broker!.stats().connections === 1)
    const d = await connect(broker.port)
    await served(d)
  })

  it('bounds the bytes held for half-received requests across connections', async () => {
    const cap = 8 * MiB
    broker = await startBroker({
      port: 0,
      dataDir: '',
      storage: 'memory',
      maxFrameBytes: 64 * MiB,
      maxPendingRequestBytes: cap,
    })
    const stallers: RawClient[] = []
    for (let i = 0; i < 6; i++) {
      const s = await connect(broker.port)
      const head = Buffer.alloc(4)
      head.writeInt32BE(60 * MiB)
      // Most of a 60 MiB frame, never finished.
      s.write(Buffer.concat([head, Buffer.alloc(40 * MiB, 1)]))
      stallers.push(s)
    }
    // The broker stops reading once the cap is reached: the rest stays in the clients' buffers.
    await until(() => broker!.stats().pendingRequestBytes >= cap)
    const other = await connect(broker.port)
    await served(other)
    await served(other)
    const held = broker.stats().pendingRequestBytes
    // Each connection may read up to its 1 MiB floor plus one socket read past the cap.
    expect(held).toBeLessThan(cap + 6 * (MiB + 256 * 1024))
    expect(held).toBeLessThan(6 * 40 * MiB)
    for (const s of stallers) expect(s.socket.writableLength).toBeGreaterThan(20 * MiB)
  })

  it('closes a connection announcing a frame above maxFrameBytes', async () => {
    broker = await startBroker({ port: 0, dataDir: '', storage: 'memory', maxFrameBytes: MiB })
    const s = await connect(broker.port)
    const head = Buffer.alloc(4)
    head.writeInt32BE(MiB + 1)
    s.write(head)
    await s.closed
    expect(broker.stats().rejectedConnections).toBe(1)
  })
})
