import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestBroker, testBroker } from './helpers.js'

describe('kafkajs round trip (disk storage)', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await testBroker()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('produces and consumes through a consumer group', async () => {
    const kafka = t.kafka()
    const producer = kafka.producer()
    await producer.connect()
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
    await producer.send({ topic: 'rt', acks: -1, messages })
    await producer.disconnect()

    const consumer = kafka.consumer({ groupId: 'g1', heartbeatInterval: 100, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'rt', fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(String(message.value))
            if (seen.length === messages.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    expect(seen.sort()).toEqual(messages.map((m) => m.value).sort())
  })

  it('accepts an idempotent producer (InitProducerId) and acks=1 / acks=0 sends', async () => {
    const kafka = t.kafka('idem')
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const [r] = await producer.send({ topic: 'idem', acks: -1, messages: [{ partition: 0, value: 'i1' }] })
    expect(r.errorCode).toBe(0)
    await producer.disconnect()
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic: 'idem', acks: 1, messages: [{ partition: 0, value: 'a1' }] })
    await plain.send({ topic: 'idem', acks: 0, messages: [{ partition: 0, value: 'a0' }] })
    await plain.send({ topic: 'idem', acks: -1, messages: [{ partition: 0, value: 'last' }] })
    await plain.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets('idem')
    expect(offsets.find((o) => o.partition === 0)?.high).toBe('4')
    await admin.disconnect()
  })
})
