import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Writer } from '../../../src/lib/protocol/primitives.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

describe('offsets below the log start (retention)', () => {
  let t: TestBroker
  beforeAll(async () => {
    // The memory log applies retention on every append: keep roughly the last 4 KiB per partition.
    t = await testBroker({ storage: 'memory', defaultTopicConfig: { retentionBytes: 4096 } })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('answers OFFSET_OUT_OF_RANGE and kafkajs recovers from the earliest offset', async () => {
    const kafka = t.kafka('ret')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'ret', numPartitions: 1 }] })
    const producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < 20; i++) {
      await producer.send({
        topic: 'ret',
        acks: -1,
        messages: Array.from({ length: 10 }, (_, j) => ({ value: `${i * 10 + j}-${'p'.repeat(80)}` })),
      })
    }
    await producer.disconnect()
    const [offsets] = await admin.fetchTopicOffsets('ret')
    expect(offsets.high).toBe('200')
    const low = Number(offsets.low)
    expect(low).toBeGreaterThan(0)

    // A committed offset that retention has since deleted (simple commit, generation -1).
    const c = await RawClient.connect(t.broker.port)
    const commit = new Writer()
      .string('ret-g')
      .int32(-1)
      .string('')
      .int64(-1n)
      .int32(1)
      .string('ret')
      .int32(1)
      .int32(0)
      .int64(5n)
      .nullableString(null)
      .toBuffer()
    const r = await c.request(8, 2, commit)
    r.int32()
    r.string()
    r.int32()
    r.int32()
    expect(r.int16()).toBe(0)
    c.close()

    const consumer = kafka.consumer({ groupId: 'ret-g', maxWaitTimeInMs: 100, heartbeatInterval: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'ret', fromBeginning: true })
    const first: number[] = []
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          first.push(Number(message.offset))
          if (Number(message.offset) === 199) resolve()
        },
      })
    })
    await consumer.disconnect()
    expect(first[0]).toBe(low)
    expect(first).toHaveLength(200 - low)
    await admin.disconnect()
  })
})
