import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { createEventProducer } from '../../../src/lib/kafka/producer.js'
import { type TailedEvent, tailEvents } from '../../../src/lib/kafka/tail.js'

let dataDir: string
let broker: { host: string; port: number; close(): Promise<void> }
let kafka: Kafka
let brokers: string[]

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-producer-'))
  broker = await startBroker({ port: 0, dataDir })
  brokers = [`${broker.host}:${broker.port}`]
  kafka = createKafka({ brokers, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'p_events', numPartitions: 3 }] })
  await admin.disconnect()
})
afterAll(async () => {
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function readBack(host: string, n: number): Promise<TailedEvent[]> {
  const out: TailedEvent[] = []
  await tailEvents({
    kafka,
    brokers,
    topic: 'p_events',
    fromBeginning: true,
    limit: n,
    filter: { host },
    onEvent: (e) => out.push(e),
  })
  return out
}

describe.each(['kafkajs', 'lean'] as const)('createEventProducer over %s', (mode) => {
  /** The client part of the options: a kafkajs client, or bootstrap servers for the lean producer. */
  const via = (servers?: string[]) =>
    mode === 'lean'
      ? { brokers: servers ?? brokers }
      : { kafka: servers ? createKafka({ brokers: servers, requestTimeout: 30_000 }) : kafka }

  it('ships concurrent sends in shared produce requests and keeps per-key order', async () => {
    const sizes: number[] = []
    const producer = createEventProducer({
      ...via(),
      topic: 'p_events',
      lingerMs: 2,
      maxBatch: 50,
      maxInFlight: 1,
      onBatch: (b) => sizes.push(b.size),
    })
    const n = 300
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        producer.send(`k${i % 3}`, JSON.stringify({ Host: `order-${mode}`, key: `k${i % 3}`, seq: i })),
      ),
    )
    expect(producer.stats.acked).toBe(n)
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(n)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(50)
    // Group commit: far fewer produce requests than messages.
    expect(producer.stats.batches).toBeLessThanOrEqual(n / 10)
    await producer.close()

    const events = await readBack(`order-${mode}`, n)
    expect(events).toHaveLength(n)
    for (const key of ['k0', 'k1', 'k2']) {
      const seqs = events.filter((e) => e.key === key).map((e) => e.event?.seq as number)
      expect(seqs).toHaveLength(n / 3)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    }
  })

  it('flush() waits for queued sends; send after close() fails', async () => {
    const producer = createEventProducer({ ...via(), topic: 'p_events', lingerMs: 50 })
    let acked = 0
    const sends = Array.from({ length: 5 }, (_, i) =>
      producer.send('f', JSON.stringify({ Host: 'flush', i })).then(() => acked++),
    )
    await producer.flush()
    expect(acked).toBe(5)
    await Promise.all(sends)
    await producer.close()
    await expect(producer.send('f', '{}')).rejects.toMatchObject({ code: 'PRODUCER_CLOSED' })
  })

  it('fails sends while the broker is down and reconnects by itself when it is back', async () => {
    const producer = createEventProducer({ ...via(), topic: 'p_events', timeoutMs: 4000 })
    await producer.send('r', JSON.stringify({ Host: `recover-${mode}`, i: 0 }))
    const port = broker.port
    await broker.close()
    await expect(producer.send('r', JSON.stringify({ Host: `recover-${mode}`, i: 1 }))).rejects.toMatchObject(
      {
        code: expect.stringMatching(/PRODUCE_FAILED|PRODUCE_TIMEOUT/),
      },
    )
    broker = await startBroker({ port, dataDir })
    // The first sends after the restart may still meet the old connection; it must succeed within a few tries.
    let ok = false
    for (let attempt = 0; attempt < 20 && !ok; attempt++) {
      ok = await producer.send('r', JSON.stringify({ Host: `recover-${mode}`, i: 2 })).then(
        () => true,
        () => false,
      )
    }
    expect(ok).toBe(true)
    await producer.close()
    const events = await readBack(`recover-${mode}`, 2)
    expect(events.map((e) => e.event?.i)).toContain(0)
    expect(events.map((e) => e.event?.i)).toContain(2)
  })

  it('a broker that never answers fails the send with PRODUCE_TIMEOUT after timeoutMs', async () => {
    const sockets: net.Socket[] = []
    const blackHole = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()))
    const { port } = blackHole.address() as net.AddressInfo
    const producer = createEventProducer({ ...via([`127.0.0.1:${port}`]), topic: 'p_events', timeoutMs: 300 })
    const started = performance.now()
    await expect(producer.send('t', '{}')).rejects.toMatchObject({ code: 'PRODUCE_TIMEOUT' })
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(2000)
    expect(producer.stats.failed).toBe(1)
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => blackHole.close(() => r()))
  })
})
