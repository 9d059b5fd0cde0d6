import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import { buildEvent } from '../../../src/lib/events/envelope.js'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { type LakeQuery, openLakeQuery } from '../../../src/lib/report/engine.js'
import { runReport } from '../../../src/lib/report/reports.js'
import { lakeCacheDir } from '../../../src/lib/report/snapshot.js'
import { streamToLake } from '../../../src/lib/stream/stream.js'
import { seedEvents, tempDir } from '../../helpers/lake-fixture.js'

/**
 * The whole path: the seed's events produced with kafkajs to the embedded broker, `game stream`'s
 * library function run once into an hdfs:// lake on the embedded gateway, then the reports.
 */
describe('reports through the real stream', () => {
  let dir: string
  let broker: BrokerHandle
  let gateway: WebHdfsGateway
  let q: LakeQuery

  beforeAll(async () => {
    dir = await tempDir('game-report-stream-')
    broker = await startBroker({ port: 0, dataDir: path.join(dir, 'kafka'), storage: 'memory' })
    gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
    const brokers = [`127.0.0.1:${broker.port}`]
    const kafka = createKafka({
      brokers,
      clientId: 'report-test',
      retry: { retries: 8, initialRetryTime: 50 },
    })
    const topic = 'game_events'
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
    await admin.disconnect()

    const messages = seedEvents().map((e) => {
      const fields: Record<string, string | number> = {}
      for (const k of ['amount', 'description', 'guild_name', 'cancel_reason', 'message_post'] as const) {
        if (e[k] !== undefined) fields[k] = e[k]
      }
      const event = buildEvent({
        type: e.type,
        fields,
        headers: { Host: e.host, 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' },
        eventId: randomUUID(),
        receivedAt: new Date(e.ts),
      })
      return { key: e.host, value: JSON.stringify(event) }
    })
    messages.push({ key: 'x', value: '{"event_type":"fly_dragon","Host":"x"}' })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, acks: -1, messages })
    await producer.disconnect()

    const lake = openLake(`hdfs://127.0.0.1:${gateway.port}/tmp`, { hdfsUser: 'game' })
    const result = await streamToLake(
      {
        topic,
        group: 'game-stream',
        intervalMs: 60_000,
        maxRows: 100_000,
        maxBytes: 64 * 1024 * 1024,
        once: true,
        fromBeginning: true,
        stagingGraceMs: 0,
        brokers,
        tempDir: dir,
      },
      { kafka, lake },
    )
    expect(result.events).toBe(messages.length)
    q = await openLakeQuery({ lake, cacheDir: lakeCacheDir(path.join(dir, 'home'), lake.url) })
  })

  afterAll(async () => {
    q?.close()
    await broker?.close()
    await gateway?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('balances and money match the seed notebook', async () => {
    const balances = await runReport('balances', { query: q })
    expect(balances.rows).toEqual([
      { host: 'oski.berkeley.edu', added: 10000, spent: 170, balance: 9830, transactions: 117 },
      { host: 'localhost', added: 150, spent: 0, balance: 150, transactions: 20 },
      { host: 'tree.stanfurd.edu', added: 1, spent: 0, balance: 1, transactions: 1 },
    ])
    const money = await runReport('money', { query: q })
    expect(money.rows).toEqual([
      { host: 'localhost', sum: 150, avg: 7.5, count: 20 },
      { host: 'oski.berkeley.edu', sum: 10000, avg: 100, count: 100 },
      { host: 'tree.stanfurd.edu', sum: 1, avg: 1, count: 1 },
    ])
  })

  it('purchases, guilds, messages and overview', async () => {
    expect((await runReport('purchases', { query: q })).rows).toEqual([
      { event_type: 'purchase_knife', description: '', count: 15, spent: 150, buyers: 1 },
      { event_type: 'purchase_sword', description: 'Great Sword', count: 2, spent: 20, buyers: 1 },
    ])
    expect((await runReport('guilds', { query: q })).rows).toEqual([
      {
        guild_name: 'berkeley',
        joins: 1,
        cancels: 0,
        members: 1,
        churn_pct: 0,
        median_time_to_cancel_s: null,
      },
      {
        guild_name: 'stanford',
        joins: 1,
        cancels: 1,
        members: 0,
        churn_pct: 100,
        median_time_to_cancel_s: 25,
      },
    ])
    expect((await runReport('messages', { query: q })).rows.map((r) => r.message)).toEqual([
      'this is a POST message - booyah!',
      'this is a GET message',
    ])
    const overview = (await runReport('overview', { query: q })).rows
    const get = (metric: string) => overview.find((r) => r.metric === metric)?.value
    expect(get('events_total')).toBe(143)
    expect(get('paying_players')).toBe(3)
    expect(get('rejected')).toBe(1)
  })
})
