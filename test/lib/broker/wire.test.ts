import { gunzipSync } from 'node:zlib'
import { CompressionTypes } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SUPPORTED_APIS } from '../../../src/lib/broker/index.js'
import { apiSpec } from '../../../src/lib/protocol/apis.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { Writer } from '../../../src/lib/protocol/primitives.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

function fetchV4(topic: string, partition: number, offset: bigint, maxWaitMs = 0): Buffer {
  const w = new Writer()
  w.int32(-1)
    .int32(maxWaitMs)
    .int32(1)
    .int32(10 << 20)
    .int8(0)
  w.int32(1)
    .string(topic)
    .int32(1)
    .int32(partition)
    .int64(offset)
    .int32(1 << 20)
  return w.toBuffer()
}

describe('wire protocol edge cases', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await testBroker()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('answers an ApiVersions newer than it serves (v5) with UNSUPPORTED_VERSION and the v0-format list (KIP-511)', async () => {
    const c = await RawClient.connect(t.broker.port)
    // v5 would use header v2 with tagged fields and a compact body; the broker must not parse it.
    const r = await c.request(
      18,
      5,
      Buffer.from([0x00, 0x05, 0x6b, 0x63, 0x61, 0x74, 0x04, 0x32, 0x2e, 0x30, 0x00]),
    )
    expect(r.int16()).toBe(35)
    const apis = r.array((r) => ({ key: r.int16(), minVersion: r.int16(), maxVersion: r.int16() }))
    expect(apis).toEqual(SUPPORTED_APIS)
    expect(r.remaining()).toBe(0)
    // The connection stays usable: the client retries with v2.
    const v2 = await c.request(18, 2)
    expect(v2.int16()).toBe(0)
    expect(v2.array((r) => [r.int16(), r.int16(), r.int16()]).length).toBe(SUPPORTED_APIS.length)
    expect(v2.int32()).toBe(0)
    c.close()
  })

  it('advertises the versions kafkajs uses as maxima', () => {
    const max = new Map(SUPPORTED_APIS.map((a) => [a.key, a.maxVersion]))
    // Produce 7+, Fetch 11, ListOffsets 3+, Metadata 6+, OffsetCommit 5+, OffsetFetch 4+, FindCoordinator 2,
    // JoinGroup 5, Heartbeat 3, LeaveGroup 3, SyncGroup 3, DescribeGroups 2+, ListGroups 2, CreateTopics 3+, DeleteTopics 1+
    const floors: [number, number][] = [
      [0, 7],
      [1, 11],
      [2, 3],
      [3, 6],
      [8, 5],
      [9, 4],
      [10, 2],
      [11, 5],
      [12, 3],
      [13, 3],
      [14, 3],
      [15, 2],
      [16, 2],
      [19, 3],
      [20, 1],
    ]
    for (const [key, v] of floors) expect(max.get(key), `api ${key}`).toBeGreaterThanOrEqual(v)
    // Every API serves Apache Kafka 3.9's whole range, flexible versions included.
    for (const a of SUPPORTED_APIS) {
      expect([a.minVersion, a.maxVersion], `api ${a.key}`).toEqual([...apiSpec(a.key).valid])
    }
    expect(SUPPORTED_APIS.map((a) => a.key)).toEqual([
      0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 32, 35, 37, 42, 60,
    ])
  })

  it('survives garbage, truncated and oversized frames and unknown APIs while kafkajs keeps working', async () => {
    const kafka = t.kafka('fuzz')
    const producer = kafka.producer()
    await producer.connect()
    const consumer = kafka.consumer({ groupId: 'fuzz-g', maxWaitTimeInMs: 50, heartbeatInterval: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'fuzz', fromBeginning: true })
    let consumed = 0
    void consumer.run({ eachMessage: async () => void consumed++ })

    let seed = 42
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand() & 0xff))
    const frame = (body: Buffer, size = body.length) => {
      const b = Buffer.alloc(4 + body.length)
      b.writeInt32BE(size)
      body.copy(b, 4)
      return b
    }
    const header = (key: number, version: number) =>
      new Writer().int16(key).int16(version).int32(7).string('fuzz').toBuffer()
    const attacks: Buffer[] = [
      frame(randomBytes(64)),
      frame(Buffer.alloc(0)),
      frame(randomBytes(3)),
      frame(Buffer.alloc(0), -5),
      frame(Buffer.alloc(0), 0x7fffffff),
      frame(header(999, 0)),
      frame(header(0, 99)),
      frame(header(3, 42)),
      frame(Buffer.concat([header(3, 6), Buffer.from([0x7f, 0xff, 0xff, 0xff])])), // array count past the end
      frame(Buffer.concat([header(0, 7), randomBytes(40)])),
      frame(Buffer.concat([header(1, 11), randomBytes(100)])),
      frame(Buffer.concat([header(11, 5), randomBytes(30)])),
      frame(Buffer.concat([header(19, 3), Buffer.from([0, 0, 0, 1, 0x7f, 0xff])])), // truncated string
    ]
    for (let i = 0; i < 30; i++) attacks.push(frame(randomBytes(rand() % 200)))

    let round = 0
    for (const attack of attacks) {
      const c = await RawClient.connect(t.broker.port)
      c.write(attack)
      await producer.send({ topic: 'fuzz', acks: -1, messages: [{ value: `m${round++}` }] })
      c.close()
    }
    // A frame cut off mid-way: the connection waits for the rest; closing it is harmless.
    const partial = await RawClient.connect(t.broker.port)
    partial.write(frame(header(18, 2), 100).subarray(0, 12))
    partial.close()
    // A flood of unknown-version requests on one connection ends that connection only.
    const flood = await RawClient.connect(t.broker.port)
    await expect(flood.request(3, 99)).rejects.toThrow('connection closed')

    const until = Date.now() + 20_000
    while (consumed < attacks.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    expect(consumed).toBe(attacks.length)
    const stats = t.broker.stats()
    expect(stats.rejectedConnections).toBeGreaterThanOrEqual(attacks.length - 5)
    // Still accepting fresh connections.
    const after = await RawClient.connect(t.broker.port)
    expect((await after.request(18, 0)).int16()).toBe(0)
    after.close()
    await consumer.disconnect()
    await producer.disconnect()
  })

  it('stores kafkajs GZIP batches byte for byte (CRC intact, compressed payload returned as sent)', async () => {
    const kafka = t.kafka('gzip')
    const producer = kafka.producer()
    await producer.connect()
    const values = Array.from({ length: 200 }, (_, i) => `compressed-${i}-${'x'.repeat(i % 50)}`)
    await producer.send({
      topic: 'gzip',
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: values.map((value) => ({ partition: 0, value })),
    })
    await producer.disconnect()

    const c = await RawClient.connect(t.broker.port)
    const r = await c.request(1, 4, fetchV4('gzip', 0, 0n))
    r.int32() // throttle
    expect(r.int32()).toBe(1)
    expect(r.string()).toBe('gzip')
    expect(r.int32()).toBe(1)
    expect(r.int32()).toBe(0)
    expect(r.int16()).toBe(0)
    expect(r.int64()).toBe(200n) // high watermark
    r.int64()
    r.int32() // aborted transactions
    const records = r.bytes()
    c.close()
    expect(records.length).toBe(12 + records.readInt32BE(8)) // exactly one batch
    expect(records.readBigInt64BE(0)).toBe(0n)
    expect(records.readInt8(16)).toBe(2)
    expect(records.readInt16BE(21) & 7).toBe(1) // gzip
    // The broker never computes CRCs, so a valid CRC over [21, end) means those bytes are the client's.
    expect(crc32c(records, 21)).toBe(records.readUInt32BE(17))
    expect(records.readInt32BE(57)).toBe(200)
    const inflated = gunzipSync(records.subarray(61))
    expect(inflated.includes(Buffer.from('compressed-199-'))).toBe(true)

    const consumer = kafka.consumer({ groupId: 'gzip-g', maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'gzip', fromBeginning: true })
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(String(message.value))
            if (got.length >= values.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    expect(got).toEqual(values)
  })

  it('answers a long-poll fetch no later than max_wait_ms and wakes it on produce', async () => {
    const kafka = t.kafka('poll')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'poll', numPartitions: 1 }] })
    await admin.disconnect()
    const c = await RawClient.connect(t.broker.port)
    let started = Date.now()
    await c.request(1, 4, fetchV4('poll', 0, 0n, 300))
    const idle = Date.now() - started
    expect(idle).toBeGreaterThanOrEqual(250)
    expect(idle).toBeLessThan(1500)

    started = Date.now()
    const parked = c.request(1, 4, fetchV4('poll', 0, 0n, 10_000))
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'poll', acks: 1, messages: [{ value: 'wake' }] })
    const r = await parked
    expect(Date.now() - started).toBeLessThan(5000)
    r.int32()
    r.int32()
    r.string()
    r.int32()
    r.int32()
    expect(r.int16()).toBe(0)
    expect(r.int64()).toBe(1n)
    r.int64()
    r.int32()
    expect(r.bytes().length).toBeGreaterThan(61)
    await producer.disconnect()
    c.close()
  })

  it('delivers a batch larger than the partition and response max bytes (KIP-74)', async () => {
    const kafka = t.kafka('big')
    const producer = kafka.producer()
    await producer.connect()
    const big = 'B'.repeat(3 * 1024 * 1024)
    await producer.send({
      topic: 'big',
      acks: -1,
      messages: [
        { partition: 0, value: big },
        { partition: 0, value: 'after' },
      ],
    })
    await producer.send({ topic: 'big', acks: -1, messages: [{ partition: 0, value: 'next' }] })
    await producer.disconnect()
    const consumer = kafka.consumer({
      groupId: 'big-g',
      maxBytesPerPartition: 64 * 1024,
      maxBytes: 128 * 1024,
      maxWaitTimeInMs: 100,
    })
    await consumer.connect()
    await consumer.subscribe({ topic: 'big', fromBeginning: true })
    const got: number[] = []
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value?.length ?? 0)
          if (got.length === 3) resolve()
        },
      })
    })
    await consumer.disconnect()
    expect(got).toEqual([big.length, 5, 4])
  })
})
