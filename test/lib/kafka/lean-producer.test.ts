import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { type Kafka, Partitioners } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import {
  createLeanProducer,
  encodeRecordBatch,
  KafkaRequestError,
} from '../../../src/lib/kafka/lean-producer.js'
import { type TailedEvent, tailEvents } from '../../../src/lib/kafka/tail.js'
import { batchProblem } from '../../../src/lib/protocol/batch.js'
import { partitionForKey } from '../../../src/lib/protocol/murmur2.js'

let dataDir: string
let broker: { host: string; port: number; close(): Promise<void> }
let kafka: Kafka
let brokers: string[]

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-lean-'))
  broker = await startBroker({ port: 0, dataDir })
  brokers = [`${broker.host}:${broker.port}`]
  kafka = createKafka({ brokers, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'lean', numPartitions: 3 }] })
  await admin.disconnect()
})
afterAll(async () => {
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function readAll(topic: string, n: number): Promise<TailedEvent[]> {
  const out: TailedEvent[] = []
  await tailEvents({ kafka, brokers, topic, fromBeginning: true, limit: n, onEvent: (e) => out.push(e) })
  return out
}

describe('partitionForKey', () => {
  it("matches kafkajs's DefaultPartitioner (Java murmur2) for every key length and partition count", () => {
    const kafkajs = Partitioners.DefaultPartitioner()
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'user1.comcast.com', 'jugador-ñandú-€', '🎮player']
    for (let i = 0; i < 300; i++) keys.push(`player${i}.example.${'x'.repeat(i % 9)}`)
    for (const numPartitions of [1, 2, 3, 7, 12]) {
      const partitionMetadata = Array.from({ length: numPartitions }, (_, p) => ({
        partitionId: p,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }))
      for (const key of keys) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: 'v' } })
        expect(partitionForKey(key, numPartitions), `${key} / ${numPartitions}`).toBe(expected)
      }
    }
  })
})

describe('encodeRecordBatch', () => {
  it('writes a RecordBatch v2 the broker accepts (CRC, lengths, count)', () => {
    const batch = encodeRecordBatch(
      [
        { key: 'k', value: '{"a":1}' },
        { key: null, value: Buffer.from('raw') },
        { key: 'ñ', value: 'x'.repeat(300) },
      ],
      Date.now(),
    )
    expect(batchProblem(batch, 0, batch.length)).toBeNull()
    expect(batch.readInt32BE(57)).toBe(3)
    batch[batch.length - 2] ^= 1
    expect(batchProblem(batch, 0, batch.length)).not.toBeNull()
  })
})

describe('createLeanProducer against the embedded broker', () => {
  it('stores every message once, on the key partition kafkajs would pick, in per-key order', async () => {
    const producer = createLeanProducer({ brokers })
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'user1.comcast.com']
    let seq = 0
    for (let round = 0; round < 6; round++) {
      const messages = Array.from({ length: 50 }, () => {
        const i = seq++
        const key = keys[i % keys.length]
        return { key, value: JSON.stringify({ Host: key, seq: i }) }
      })
      await producer.send('lean', messages)
    }
    await producer.disconnect()

    const events = await readAll('lean', seq)
    expect(events).toHaveLength(seq)
    const kafkajs = Partitioners.DefaultPartitioner()
    const partitionMetadata = [0, 1, 2].map((p) => ({
      partitionId: p,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }))
    for (const key of keys) {
      const mine = events.filter((e) => e.key === key)
      expect(mine).toHaveLength(seq / keys.length)
      const seqs = mine.map((e) => e.event?.seq as number)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      const expected = kafkajs({ topic: 'lean', partitionMetadata, message: { key, value: '' } })
      for (const e of mine) expect(e.partition).toBe(expected)
    }
    // Several partitions were used (the keys spread).
    expect(new Set(events.map((e) => e.partition)).size).toBeGreaterThan(1)
  })

  it('auto-creates a missing topic through Metadata', async () => {
    const producer = createLeanProducer({ brokers })
    await producer.send('lean_auto', [{ key: 'k', value: '{"Host":"k","n":1}' }])
    await producer.disconnect()
    const events = await readAll('lean_auto', 1)
    expect(events[0].event?.n).toBe(1)
  })

  it('fails a non-retriable error at once (invalid topic name)', async () => {
    const producer = createLeanProducer({ brokers, retryBackoffMs: 1000 })
    const started = performance.now()
    const error = await producer.send('bad topic!', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KafkaRequestError)
    expect((error as KafkaRequestError).retriable).toBe(false)
    expect(performance.now() - started).toBeLessThan(900)
    await producer.disconnect()
  })

  it('survives a broker restart: sends fail while it is down, the same producer reconnects', async () => {
    const producer = createLeanProducer({ brokers, retries: 1, retryBackoffMs: 20 })
    await producer.send('lean', [{ key: 'restart', value: JSON.stringify({ Host: 'restart', i: 0 }) }])
    const port = broker.port
    await broker.close()
    await expect(
      producer.send('lean', [{ key: 'restart', value: JSON.stringify({ Host: 'restart', i: 1 }) }]),
    ).rejects.toMatchObject({ retriable: true })
    broker = await startBroker({ port, dataDir })
    await producer.send('lean', [{ key: 'restart', value: JSON.stringify({ Host: 'restart', i: 2 }) }])
    await producer.send('lean', [{ key: 'restart', value: JSON.stringify({ Host: 'restart', i: 3 }) }])
    await producer.disconnect()

    const out: TailedEvent[] = []
    await tailEvents({
      kafka,
      brokers,
      topic: 'lean',
      fromBeginning: true,
      limit: 3,
      filter: { host: 'restart' },
      onEvent: (e) => out.push(e),
    })
    expect(out.map((e) => e.event?.i)).toEqual([0, 2, 3])
  })

  it('a broker that never answers fails the request after requestTimeoutMs', async () => {
    const sockets: net.Socket[] = []
    const blackHole = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()))
    const { port } = blackHole.address() as net.AddressInfo
    const producer = createLeanProducer({
      brokers: [`127.0.0.1:${port}`],
      requestTimeoutMs: 150,
      retries: 1,
      retryBackoffMs: 10,
    })
    const started = performance.now()
    await expect(producer.send('lean', [{ key: 'k', value: 'v' }])).rejects.toBeInstanceOf(KafkaRequestError)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(2000)
    await producer.disconnect()
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => blackHole.close(() => r()))
  })

  it('nothing reachable: fails with a retriable network error', async () => {
    const free = net.createServer()
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()))
    const { port } = free.address() as net.AddressInfo
    await new Promise<void>((r) => free.close(() => r()))
    const producer = createLeanProducer({ brokers: [`127.0.0.1:${port}`], retries: 1, retryBackoffMs: 10 })
    await expect(producer.send('lean', [{ key: 'k', value: 'v' }])).rejects.toMatchObject({ retriable: true })
    await producer.disconnect()
  })
})
