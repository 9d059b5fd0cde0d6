import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApi } from '../../../src/lib/api/index.js'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { type TailedEvent, tailEvents } from '../../../src/lib/kafka/tail.js'
import { startKafkaProxy } from '../../helpers/kafka-proxy.js'
import { httpRequest } from './http.js'

// The API's produce path end to end: HTTP requests → group commit → idempotent lean producer →
// a proxy that loses the broker's first ack → the embedded broker.
const TOPIC = 'idem_events'
let dataDir: string
let broker: BrokerHandle
let brokers: string[]

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-api-idem-'))
  broker = await startBroker({ port: 0, dataDir })
  brokers = [`127.0.0.1:${broker.port}`]
  const admin = createKafka({ brokers }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
  await admin.disconnect()
})
afterAll(async () => {
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('the API producer is idempotent', () => {
  it('a lost ack: every request answered 200, every event stored once, each player in order', async () => {
    const proxy = await startKafkaProxy(brokers)
    const api = await startApi({
      port: 0,
      bind: '127.0.0.1',
      brokers: proxy.bootstrap,
      topic: TOPIC,
      prices: { sword: 25, knife: 7 },
      produceTimeoutMs: 5000,
      maxInFlight: 5,
    })
    const players = ['a.example', 'b.example', 'c.example', 'd.example']
    try {
      expect(
        (await httpRequest(api.url, '/add_money?amount=1', { headers: { Host: 'warm.example' } })).status,
      ).toBe(200)
      proxy.dropProduceResponses = 1
      // Per player, requests one after another (amount = its order); players concurrently.
      const statuses = await Promise.all(
        players.map(async (host) => {
          const out: number[] = []
          for (let i = 1; i <= 15; i++)
            out.push(
              (await httpRequest(api.url, `/add_money?amount=${i}`, { headers: { Host: host } })).status,
            )
          return out
        }),
      )
      expect(statuses.flat().every((s) => s === 200)).toBe(true)
    } finally {
      await api.close()
      await proxy.close()
    }
    expect(proxy.dropped).toBe(1)

    const events: TailedEvent[] = []
    const ac = new AbortController()
    await tailEvents({
      kafka: createKafka({ brokers }),
      brokers,
      topic: TOPIC,
      fromBeginning: true,
      signal: ac.signal,
      onEvent: (e) => events.push(e),
      onCaughtUp: () => ac.abort(),
    })
    const ids = events.map((e) => e.event?.event_id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const host of players) {
      const amounts = events.filter((e) => e.key === host).map((e) => Number(e.event?.amount))
      expect(amounts).toEqual(Array.from({ length: 15 }, (_, i) => i + 1))
    }
  })
})
