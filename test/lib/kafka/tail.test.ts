import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { matchesTail, type TailResult, tailEvents } from '../../../src/lib/kafka/tail.js'

let dataDir: string
let broker: { host: string; port: number; close(): Promise<void> }
let kafka: Kafka
let brokers: string[]

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-tail-'))
  broker = await startBroker({ port: 0, dataDir, storage: 'memory' })
  brokers = [`${broker.host}:${broker.port}`]
  kafka = createKafka({ brokers, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 't_events', numPartitions: 3 }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic: 't_events',
    messages: Array.from({ length: 30 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({
        event_type: i % 2 ? 'add_money' : 'join_guild',
        Host: i % 3 ? 'oski.berkeley.edu' : 'x.example',
      }),
    })),
  })
  await producer.disconnect()
})
afterAll(async () => {
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('matchesTail', () => {
  it('matches host names without case and event types exactly', () => {
    const e = { event_type: 'add_money', Host: 'oski.berkeley.edu' }
    expect(matchesTail(e, { host: 'Oski.Berkeley.EDU' })).toBe(true)
    expect(matchesTail(e, { host: 'oski.berkeley.ed' })).toBe(false)
    expect(matchesTail(e, { type: 'ADD_MONEY' })).toBe(false)
    expect(matchesTail({ event_type: 'add_money' }, { host: 'oski.berkeley.edu' })).toBe(false)
  })
})

describe('tailEvents', () => {
  it('finds a host given in another case', async () => {
    const out: unknown[] = []
    const r = await tailEvents({
      kafka,
      brokers,
      topic: 't_events',
      fromBeginning: true,
      limit: 20,
      filter: { host: 'OSKI.Berkeley.edu' },
      onEvent: (e) => out.push(e),
    })
    expect(r.matched).toBe(20)
    expect(out).toHaveLength(20)
  })

  it('says when it has read everything and nothing matched, instead of waiting quietly', async () => {
    const controller = new AbortController()
    let caughtUp: TailResult | undefined
    const r = await tailEvents({
      kafka,
      brokers,
      topic: 't_events',
      fromBeginning: true,
      filter: { host: 'nobody.example' },
      signal: controller.signal,
      onEvent: () => {},
      onCaughtUp: (x) => {
        caughtUp = x
        controller.abort()
      },
    })
    expect(caughtUp).toEqual({ matched: 0, seen: 30 })
    expect(r.matched).toBe(0)
  })
})
