import type { Consumer, Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Writer } from '../../../src/lib/protocol/primitives.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

/** Sends `count` messages to `topic` round-robin over `partitions`, value = "<partition>:<seq>". */
async function produceSequenced(
  kafka: Kafka,
  topic: string,
  count: number,
  partitions: number,
  batch = 1000,
) {
  const producer = kafka.producer()
  await producer.connect()
  const next = new Array(partitions).fill(0)
  for (let sent = 0; sent < count; ) {
    const n = Math.min(batch, count - sent)
    const messages = []
    for (let i = 0; i < n; i++) {
      const p = (sent + i) % partitions
      messages.push({ partition: p, value: `${p}:${next[p]++}` })
    }
    await producer.send({ topic, acks: -1, messages })
    sent += n
  }
  await producer.disconnect()
  return next
}

/** Runs a consumer until `done()` holds; returns once it does. */
function consumeUntil(
  consumer: Consumer,
  onMessage: (partition: number, value: string, offset: string) => void,
  done: () => boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (done()) resolve()
    consumer
      .run({
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const m of batch.messages) {
            onMessage(batch.partition, String(m.value), m.offset)
            resolveOffset(m.offset)
          }
          await heartbeat()
          if (done()) resolve()
        },
      })
      .catch(reject)
  })
}

describe('kafkajs 2.2.4 against startBroker', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await testBroker({ defaultPartitions: 3 })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('delivers 100k messages across 3 partitions exactly once and in order per partition', async () => {
    const kafka = t.kafka('bulk')
    const admin = kafka.admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: 'bulk', numPartitions: 3 }] })).toBe(true)
    const total = 100_000
    const produced = await produceSequenced(kafka, 'bulk', total, 3)
    const offsets = await admin.fetchTopicOffsets('bulk')
    expect(offsets.map((o) => Number(o.high)).reduce((a, b) => a + b, 0)).toBe(total)

    const consumer = kafka.consumer({ groupId: 'bulk-g', heartbeatInterval: 200, maxWaitTimeInMs: 200 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'bulk', fromBeginning: true })
    const expected = [0, 0, 0]
    const errors: string[] = []
    let received = 0
    await consumeUntil(
      consumer,
      (partition, value) => {
        const [p, seq] = value.split(':').map(Number)
        if (p !== partition || seq !== expected[partition]) {
          errors.push(`partition ${partition}: got ${value}, expected ${partition}:${expected[partition]}`)
        }
        expected[partition] = seq + 1
        received++
      },
      () => received >= total,
    )
    await consumer.disconnect()
    expect(errors.slice(0, 5)).toEqual([])
    expect(received).toBe(total)
    expect(expected).toEqual(produced)
    const committed = await admin.fetchOffsets({ groupId: 'bulk-g', topics: ['bulk'] })
    expect(committed[0].partitions.map((p) => Number(p.offset)).sort()).toEqual(
      offsets.map((o) => Number(o.high)).sort(),
    )
    await admin.disconnect()
  })

  it('rebalances as consumers join and leave without losing a message', async () => {
    const kafka = t.kafka('rebal')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'rebal', numPartitions: 3 }] })
    const producer = kafka.producer()
    await producer.connect()
    const seen = new Map<string, number>()
    const record = (partition: number, _value: string, offset: string) => {
      const key = `${partition}:${offset}`
      seen.set(key, (seen.get(key) ?? 0) + 1)
    }
    const opts = { groupId: 'rebal-g', heartbeatInterval: 100, maxWaitTimeInMs: 100, sessionTimeout: 6000 }
    const assigned = new Map<string, number[]>()
    const start = async (name: string) => {
      const c = kafka.consumer(opts)
      c.on(c.events.GROUP_JOIN, (e) => assigned.set(name, e.payload.memberAssignment.rebal ?? []))
      await c.connect()
      await c.subscribe({ topic: 'rebal', fromBeginning: true })
      void c.run({
        eachMessage: async ({ partition, message }) =>
          record(partition, String(message.value), message.offset),
      })
      return c
    }
    const joined = (names: string[], total: number) =>
      names.every((n) => assigned.has(n)) &&
      names.map((n) => assigned.get(n)!.length).reduce((a, b) => a + b, 0) === total
    const waitFor = async (cond: () => boolean, what: string, ms = 30_000) => {
      const until = Date.now() + ms
      while (!cond()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    let sent = 0
    const sendSome = async (n: number) => {
      const messages = Array.from({ length: n }, (_, i) => ({
        partition: (sent + i) % 3,
        value: `m${sent + i}`,
      }))
      await producer.send({ topic: 'rebal', acks: -1, messages })
      sent += n
    }

    await sendSome(300)
    const a = await start('a')
    const b = await start('b')
    await waitFor(() => joined(['a', 'b'], 3), 'a and b to split the partitions')
    const splitAB = [assigned.get('a')!.length, assigned.get('b')!.length].sort()
    expect(splitAB).toEqual([1, 2])
    await sendSome(300)
    assigned.clear()
    const c = await start('c')
    await waitFor(() => joined(['a', 'b', 'c'], 3), 'a, b and c to get one partition each')
    expect(['a', 'b', 'c'].map((n) => assigned.get(n)!.length)).toEqual([1, 1, 1])
    await sendSome(300)
    assigned.clear()
    await a.disconnect()
    await waitFor(() => joined(['b', 'c'], 3), 'b and c to take over')
    await sendSome(300)
    await waitFor(() => seen.size === sent, `all ${sent} messages (have ${seen.size})`)
    const highs = await admin.fetchTopicOffsets('rebal')
    // disconnect() commits what was resolved, so afterwards the committed offsets must be the high watermarks.
    await b.disconnect()
    await c.disconnect()
    const committed = await admin.fetchOffsets({ groupId: 'rebal-g', topics: ['rebal'] })
    const byPartition = new Map(committed[0].partitions.map((p) => [p.partition, p.offset]))
    for (const h of highs) expect(byPartition.get(h.partition)).toBe(h.high)
    expect(seen.size).toBe(1200)
    await producer.disconnect()
    await admin.disconnect()
  })

  it('expires a member that stops heartbeating and hands its partitions to the others', async () => {
    const kafka = t.kafka('expire')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'expire', numPartitions: 3 }] })
    await admin.disconnect()
    const consumer = kafka.consumer({ groupId: 'expire-g', heartbeatInterval: 50, maxWaitTimeInMs: 50 })
    const assignments: number[][] = []
    consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.push(e.payload.memberAssignment.expire ?? []))
    await consumer.connect()
    await consumer.subscribe({ topic: 'expire', fromBeginning: true })
    const seen = new Set<string>()
    void consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) })
    const waitFor = async (cond: () => boolean, what: string) => {
      const until = Date.now() + 20_000
      while (!cond()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await waitFor(() => assignments.at(-1)?.length === 3, 'the first consumer to own all partitions')

    // A second member that joins (JoinGroup v3 on a raw connection) and then goes silent.
    const raw = await RawClient.connect(t.broker.port)
    const meta = new Writer().int16(1).int32(1).string('expire').int32(-1).toBuffer()
    const join = new Writer()
      .string('expire-g')
      .int32(500)
      .int32(10_000)
      .string('')
      .string('consumer')
      .int32(1)
      .string('RoundRobinAssigner')
      .bytes(meta)
      .toBuffer()
    const joined = await raw.request(11, 3, join)
    joined.int32()
    expect(joined.int16()).toBe(0)
    // The kafkajs consumer (leader) gives the silent member some partitions, then takes them back
    // once its session (500 ms) expires.
    await waitFor(
      () => assignments.length >= 2 && assignments.at(-2)!.length < 3,
      'a split with the silent member',
    )
    await waitFor(
      () => assignments.length >= 3 && assignments.at(-1)!.length === 3,
      'the partitions to come back',
    )
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: 'expire',
      acks: -1,
      messages: [0, 1, 2].map((partition) => ({ partition, value: `p${partition}` })),
    })
    await producer.disconnect()
    await waitFor(() => seen.size === 3, 'a message from every partition')
    raw.close()
    await consumer.disconnect()
  })
})
