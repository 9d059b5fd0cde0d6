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
import { startKafkaProxy } from '../../helpers/kafka-proxy.js'

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
    const producer = createLeanProducer({ brokers, requestTimeoutMs: 600, retryBackoffMs: 20 })
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
      retryBackoffMs: 10,
    })
    const started = performance.now()
    await expect(producer.send('lean', [{ key: 'k', value: 'v' }])).rejects.toBeInstanceOf(KafkaRequestError)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(145)
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
    const producer = createLeanProducer({
      brokers: [`127.0.0.1:${port}`],
      requestTimeoutMs: 300,
      retryBackoffMs: 10,
    })
    await expect(producer.send('lean', [{ key: 'k', value: 'v' }])).rejects.toMatchObject({ retriable: true })
    await producer.disconnect()
  })
})

/** Every event of the topic, read up to where each partition ended when the read began. */
async function readToEnd(topic: string): Promise<TailedEvent[]> {
  const out: TailedEvent[] = []
  const ac = new AbortController()
  await tailEvents({
    kafka,
    brokers,
    topic,
    fromBeginning: true,
    signal: ac.signal,
    onEvent: (e) => out.push(e),
    onCaughtUp: () => ac.abort(),
  })
  return out
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions }] })
  await admin.disconnect()
}

describe('idempotent produce: a retry after a lost ack', () => {
  const players = ['alpha.example', 'beta.example', 'gamma.example', 'delta.example']
  /** `sends` concurrent sends of `perSend` events each, seq numbered in send order. */
  const sendAll = async (
    producer: ReturnType<typeof createLeanProducer>,
    topic: string,
    sends: number,
    perSend: number,
  ) => {
    let seq = 0
    const batches = Array.from({ length: sends }, () =>
      Array.from({ length: perSend }, () => {
        const i = seq++
        const key = players[i % players.length]
        return { key, value: JSON.stringify({ Host: key, seq: i }) }
      }),
    )
    await Promise.all(batches.map((b) => producer.send(topic, b)))
    return seq
  }

  it('is stored once and in per-player order when the connection dies after the broker appended', async () => {
    await createTopic('lean_idem', 3)
    const proxy = await startKafkaProxy(brokers)
    const producer = createLeanProducer({ brokers: proxy.bootstrap, retryBackoffMs: 20 })
    // Warm up (metadata, producer id), then lose the ack of the next produce; the connection drop
    // fails every produce in flight on it, and all of them are sent again.
    await producer.send('lean_idem', [{ key: 'warm', value: JSON.stringify({ Host: 'warm', seq: -1 }) }])
    proxy.dropProduceResponses = 1
    const n = await sendAll(producer, 'lean_idem', 5, 40)
    await producer.disconnect()
    await proxy.close()
    expect(proxy.dropped).toBe(1)

    const events = (await readToEnd('lean_idem')).filter((e) => e.key !== 'warm')
    const seqs = events.map((e) => e.event?.seq as number)
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(seqs).toHaveLength(n)
    for (const key of players) {
      const mine = events.filter((e) => e.key === key).map((e) => e.event?.seq as number)
      expect(mine).toEqual([...mine].sort((a, b) => a - b))
    }
  })

  it('control: without idempotence the same lost ack stores the batch twice', async () => {
    await createTopic('lean_dup', 3)
    const proxy = await startKafkaProxy(brokers)
    const producer = createLeanProducer({ brokers: proxy.bootstrap, retryBackoffMs: 20, idempotent: false })
    await producer.send('lean_dup', [{ key: 'warm', value: JSON.stringify({ Host: 'warm', seq: -1 }) }])
    proxy.dropProduceResponses = 1
    const n = await sendAll(producer, 'lean_dup', 1, 40)
    await producer.disconnect()
    await proxy.close()
    expect(proxy.dropped).toBe(1)
    const events = (await readToEnd('lean_dup')).filter((e) => e.key !== 'warm')
    expect(events.length).toBe(2 * n)
  })

  it('a batch given up on (never reached the broker) leaves a sequence gap; later sends still land once', async () => {
    await createTopic('lean_gap', 1)
    const proxy = await startKafkaProxy(brokers)
    const producer = createLeanProducer({
      brokers: proxy.bootstrap,
      retryBackoffMs: 20,
      requestTimeoutMs: 400,
    })
    const event = (seq: number) => ({ key: 'p', value: JSON.stringify({ Host: 'p', seq }) })
    await producer.send('lean_gap', [event(0), event(1)])
    proxy.swallowProduceRequests = 1
    await expect(producer.send('lean_gap', [event(2)])).rejects.toMatchObject({ retriable: true })
    await producer.send('lean_gap', [event(3)])
    await producer.send('lean_gap', [event(4), event(5)])
    await producer.disconnect()
    await proxy.close()
    const seqs = (await readToEnd('lean_gap')).map((e) => e.event?.seq)
    // seq 2 was sent once more within its timeout (the swallowed request's connection timed out
    // first) or not at all; either way each event is stored at most once, in order.
    expect(seqs.filter((s) => s !== 2)).toEqual([0, 1, 3, 4, 5])
    expect(new Set(seqs).size).toBe(seqs.length)
  })
})

describe('idempotent produce: a real sequence gap', () => {
  it('a later batch refused as out of order while the earlier one was lost bumps the epoch, renumbers and lands', async () => {
    await createTopic('lean_ooo', 1)
    const proxy = await startKafkaProxy(brokers)
    const producer = createLeanProducer({
      brokers: proxy.bootstrap,
      retryBackoffMs: 20,
      requestTimeoutMs: 5000,
    })
    const event = (seq: number) => ({ key: 'p', value: JSON.stringify({ Host: 'p', seq }) })
    await producer.send('lean_ooo', [event(0)])
    // A never reaches the broker and is given up after 400 ms; B, sent meanwhile, follows A's
    // sequences: the broker refuses it (OUT_OF_ORDER_SEQUENCE_NUMBER) while A is unacked, and
    // again once A was given up and B is the oldest unacked batch: a real gap.
    proxy.swallowProduceRequests = 1
    const a = producer.send('lean_ooo', [event(1)], 400)
    await new Promise((r) => setTimeout(r, 50))
    const b = producer.send('lean_ooo', [event(2), event(3)])
    await expect(a).rejects.toBeInstanceOf(KafkaRequestError)
    await b
    await producer.disconnect()
    await proxy.close()
    const sent = proxy.batches.filter((x) => x.count === 2)
    // B went out at epoch 0 (refused), then at epoch 1 from sequence 0.
    expect(sent[0]).toMatchObject({ epoch: 0, baseSequence: 2 })
    expect(sent.at(-1)).toMatchObject({ epoch: 1, baseSequence: 0 })
    expect((await readToEnd('lean_ooo')).map((e) => e.event?.seq)).toEqual([0, 2, 3])
  })
})

describe('retries are bounded by the request timeout, not by a count', () => {
  it('NOT_LEADER_OR_FOLLOWER refreshes the metadata and retries; the batch the broker had appended is stored once', async () => {
    await createTopic('lean_nl', 2)
    const proxy = await startKafkaProxy(brokers)
    const producer = createLeanProducer({ brokers: proxy.bootstrap, retryBackoffMs: 20 })
    await producer.send('lean_nl', [{ key: 'k', value: JSON.stringify({ Host: 'k', n: 0 }) }])
    const metadataBefore = proxy.metadataRequests
    proxy.failProduceWith = 6 // NOT_LEADER_OR_FOLLOWER
    proxy.failProduceResponses = 3
    await producer.send('lean_nl', [{ key: 'k', value: JSON.stringify({ Host: 'k', n: 1 }) }])
    await producer.disconnect()
    await proxy.close()
    expect(proxy.failProduceResponses).toBe(0)
    expect(proxy.metadataRequests - metadataBefore).toBeGreaterThanOrEqual(3)
    expect((await readToEnd('lean_nl')).map((e) => e.event?.n)).toEqual([0, 1])
  })

  it('a missing topic (UNKNOWN_TOPIC_OR_PARTITION) is retried until it exists', async () => {
    const producer = createLeanProducer({ brokers, allowAutoTopicCreation: false, requestTimeoutMs: 8000 })
    const started = performance.now()
    const sent = producer.send('lean_later', [{ key: 'k', value: JSON.stringify({ Host: 'k', n: 7 }) }])
    // Far longer than the old 2 retries (100 + 200 ms) took to give up.
    await new Promise((r) => setTimeout(r, 800))
    await createTopic('lean_later', 2)
    await sent
    expect(performance.now() - started).toBeGreaterThanOrEqual(800)
    await producer.disconnect()
    expect((await readToEnd('lean_later')).map((e) => e.event?.n)).toEqual([7])
  })

  it('a lost connection is retried until the broker is back, and the event is stored once', async () => {
    const producer = createLeanProducer({ brokers, requestTimeoutMs: 8000, retryBackoffMs: 50 })
    await producer.send('lean', [{ key: 'outage', value: JSON.stringify({ Host: 'outage', i: 0 }) }])
    const port = broker.port
    await broker.close()
    const sent = producer.send('lean', [{ key: 'outage', value: JSON.stringify({ Host: 'outage', i: 1 }) }])
    await new Promise((r) => setTimeout(r, 1000))
    broker = await startBroker({ port, dataDir })
    await sent
    await producer.disconnect()
    const mine = (await readToEnd('lean')).filter((e) => e.key === 'outage').map((e) => e.event?.i)
    expect(mine).toEqual([0, 1])
  })

  it('gives up at the request timeout with the last cause', async () => {
    const free = net.createServer()
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()))
    const { port } = free.address() as net.AddressInfo
    await new Promise<void>((r) => free.close(() => r()))
    const producer = createLeanProducer({
      brokers: [`127.0.0.1:${port}`],
      requestTimeoutMs: 700,
      retryBackoffMs: 20,
    })
    const started = performance.now()
    const error = await producer.send('lean', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e)
    const waited = performance.now() - started
    expect(error).toBeInstanceOf(KafkaRequestError)
    expect((error as Error).message).toMatch(/nothing listens at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
    // Retried for most of the timeout (backoff 20, 40, ... ms), never past it by much.
    expect(waited).toBeGreaterThanOrEqual(300)
    expect(waited).toBeLessThan(1500)
    await producer.disconnect()
  })
})
