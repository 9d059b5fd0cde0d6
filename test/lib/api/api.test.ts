import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../../src/lib/api/index.js'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { type TailedEvent, tailEvents } from '../../../src/lib/kafka/tail.js'
import { httpRequest } from './http.js'

const TOPIC = 'game_events'
let dataDir: string
let broker: { host: string; port: number; close(): Promise<void> }
let kafka: Kafka
let brokers: string[]
let api: ApiServer

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-api-'))
  broker = await startBroker({ port: 0, dataDir })
  brokers = [`${broker.host}:${broker.port}`]
  kafka = createKafka({ brokers })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
  await admin.disconnect()
  api = await startApi({
    port: 0,
    bind: '127.0.0.1',
    brokers,
    topic: TOPIC,
    prices: { sword: 25, knife: 7 },
    produceTimeoutMs: 3000,
  })
})
afterAll(async () => {
  await api?.close()
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function eventsOf(host: string, n: number): Promise<Record<string, unknown>[]> {
  const out: TailedEvent[] = []
  await tailEvents({
    kafka,
    brokers,
    topic: TOPIC,
    fromBeginning: true,
    limit: n,
    filter: { host },
    onEvent: (e) => out.push(e),
  })
  for (const e of out) expect(e.key).toBe(host)
  return out.map((e) => e.event as Record<string, unknown>)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('game API against the embedded broker', () => {
  it('every route produces its typed event with envelope and kept headers, key = Host', async () => {
    const host = 'user1.comcast.com'
    const headers = {
      Host: host,
      'User-Agent': 'ApacheBench/2.3',
      Accept: '*/*',
      Authorization: 'Bearer secret',
      Cookie: 'session=secret',
      'X-Client': 'test',
    }
    const calls: [string, string, string, Record<string, unknown>][] = [
      ['/', 'This is the default response!\n', 'default', {}],
      [
        '/purchase_a_sword?sword_type=great',
        'Sword Purchased!\n',
        'purchase_sword',
        { amount: -25, description: 'great' },
      ],
      ['/purchase_a_knife', 'Knife Purchased!\n', 'purchase_knife', { amount: -7, description: '' }],
      ['/add_money?amount=42', 'Money Added!\n', 'add_money', { amount: 42, description: 'money' }],
      [
        '/join_guild?guild_name=Knights+of+N%C3%AE',
        'Joined Guild!\n',
        'join_guild',
        { guild_name: 'Knights of Nî' },
      ],
      [
        '/cancel_membership?guild_name=K&cancel_reason=bored',
        'Membership Cancelled!\n',
        'cancel_membership',
        { guild_name: 'K', cancel_reason: 'bored' },
      ],
      ['/messages?message=hola', 'Message Posted!\n', 'mensaje', { message_post: 'hola' }],
    ]
    for (const [p, text] of calls) {
      const r = await httpRequest(api.url, p, { headers })
      expect(r.status, p).toBe(200)
      expect(r.body).toBe(text)
      expect(r.headers['content-type']).toContain('text/plain')
    }
    const json = await httpRequest(api.url, '/messages', {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ message: 'posted json' }),
    })
    expect(json.status).toBe(200)
    const jsonBody = JSON.parse(json.body)
    expect(jsonBody.ok).toBe(true)
    expect(jsonBody.event_id).toMatch(UUID)
    const form = await httpRequest(api.url, '/messages', {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'message=posted+form',
    })
    expect(form.status).toBe(200)

    const events = await eventsOf(host, calls.length + 2)
    const byType = (t: string) => events.filter((e) => e.event_type === t)
    for (const [p, , type, fields] of calls) {
      const e = byType(type).find((x) => type !== 'mensaje' || x.message_post === fields.message_post)
      expect(e, p).toBeDefined()
      expect(e).toMatchObject({ ...fields, Host: host, 'User-Agent': 'ApacheBench/2.3', 'X-Client': 'test' })
      expect(e?.event_id).toMatch(UUID)
      expect(e?.schema_version).toBe(1)
      expect(Date.now() - Date.parse(String(e?.received_at))).toBeLessThan(60_000)
      expect(String(e?.received_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(e).not.toHaveProperty('Authorization')
      expect(e).not.toHaveProperty('Cookie')
    }
    expect(
      byType('mensaje')
        .map((e) => e.message_post)
        .sort(),
    ).toEqual(['hola', 'posted form', 'posted json'])
    expect(byType('mensaje').find((e) => e.message_post === 'posted json')?.event_id).toBe(jsonBody.event_id)
    expect(typeof byType('add_money')[0].amount).toBe('number')
  })

  it('a header named like an event field changes nothing', async () => {
    const host = 'forger.example'
    const r = await httpRequest(api.url, '/purchase_a_sword', {
      headers: {
        Host: host,
        amount: '100000',
        event_type: 'add_money',
        event_id: 'forged',
        received_at: '1999-01-01T00:00:00Z',
        description: 'free sword',
      },
    })
    expect(r.status).toBe(200)
    const [e] = await eventsOf(host, 1)
    expect(e.amount).toBe(-25)
    expect(e.event_type).toBe('purchase_sword')
    expect(e.event_id).toMatch(UUID)
    expect(e.description).toBe('')
    expect(String(e.received_at)).not.toContain('1999')
    expect(Object.keys(e).filter((k) => k.toLowerCase() === 'amount')).toEqual(['amount'])
  })

  it('concurrent requests share produce requests; /metrics and /healthz report it', async () => {
    const host = 'crowd.example'
    const n = 200
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        httpRequest(api.url, `/add_money?amount=${i + 1}`, { headers: { Host: host } }),
      ),
    )
    expect(answers.every((a) => a.status === 200)).toBe(true)
    const events = await eventsOf(host, n)
    expect(events.map((e) => e.amount as number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    )
    expect(api.producer.stats.batches).toBeLessThan(api.producer.stats.acked)
    const m = await httpRequest(api.url, '/metrics')
    expect(m.status).toBe(200)
    expect(m.headers['content-type']).toContain('text/plain')
    const produced = /game_api_events_produced_total\{event_type="add_money"\} (\d+)/.exec(m.body)
    expect(Number(produced?.[1])).toBeGreaterThanOrEqual(n)
    expect(m.body).toContain(`game_api_requests_total{route="/add_money",method="GET",status="200"}`)
    expect(m.body).toMatch(/game_api_produce_batch_size_count \d+/)
    const h = await httpRequest(api.url, '/healthz')
    expect(h.status).toBe(200)
    expect(JSON.parse(h.body)).toMatchObject({ ok: true, broker: 'reachable' })
  })

  it('broker stopped → 503 with Retry-After; broker back on the same port → 200 without restarting the API', async () => {
    const port = broker.port
    await broker.close()
    const down = await httpRequest(api.url, '/add_money?amount=1', { headers: { Host: 'outage.example' } })
    expect(down.status).toBe(503)
    expect(down.headers['retry-after']).toBe('1')
    const health = await httpRequest(api.url, '/healthz')
    expect(health.status).toBe(503)

    broker = await startBroker({ port, dataDir })
    let status = 0
    for (let attempt = 0; attempt < 30 && status !== 200; attempt++) {
      status = (await httpRequest(api.url, '/add_money?amount=2', { headers: { Host: 'outage.example' } }))
        .status
    }
    expect(status).toBe(200)
    const events = await eventsOf('outage.example', 1)
    expect(events[0].amount).toBe(2)
  })
})
