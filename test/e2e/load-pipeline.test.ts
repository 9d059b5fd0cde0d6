import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../src/lib/api/index.js'
import { type BrokerHandle, startBroker } from '../../src/lib/broker/index.js'
import { createKafka } from '../../src/lib/kafka/client.js'
import { openLake } from '../../src/lib/lake/open.js'
import { streamToLake } from '../../src/lib/stream/stream.js'
import { runCli } from '../helpers/cli.js'

// The real thing: game load (bin/run.js) → game API → embedded broker → stream → file:// lake → game check.
let home: string
let broker: BrokerHandle
let api: ApiServer
let brokers: string
const topic = 'game_events'

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'game-e2e-load-pipeline-'))
  broker = await startBroker({ port: 0, dataDir: path.join(home, 'kafka'), storage: 'memory' })
  brokers = `${broker.host}:${broker.port}`
  const admin = createKafka({ brokers: [brokers] }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
  await admin.disconnect()
  api = await startApi({ port: 0, bind: '127.0.0.1', brokers: [brokers], topic })
})

afterAll(async () => {
  await api?.close()
  await broker?.close()
  await rm(home, { recursive: true, force: true })
})

/** Reads `count` messages of the topic from the beginning. */
async function readTopic(count: number): Promise<Record<string, unknown>[]> {
  const consumer = createKafka({ brokers: [brokers] }).consumer({ groupId: `check-${Date.now()}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const events: Record<string, unknown>[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${events.length}/${count} messages`)), 30_000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          events.push(JSON.parse(String(message.value)))
          if (events.length >= count) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return events
}

describe('game load + game check against the real API, broker and stream', () => {
  const ledger = () => path.join(home, 'seed-ledger.json')
  const lakeUrl = () => `file://${path.join(home, 'lake')}`

  it('game load --scenario seed puts exactly the seed events in Kafka', async () => {
    const r = await runCli(
      ['load', '--url', api.url, '--scenario', 'seed', '-c', '5', '--ledger', ledger(), '--json'],
      {
        env: { GAME_HOME: home },
      },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).requests).toMatchObject({ sent: 143, accepted: 143 })

    const events = await readTopic(143)
    const counts: Record<string, number> = {}
    const amounts: Record<string, number> = {}
    for (const e of events) {
      const key = `${e.Host} ${e.event_type}`
      counts[key] = (counts[key] ?? 0) + 1
      if (e.event_type === 'add_money')
        amounts[String(e.Host)] = (amounts[String(e.Host)] ?? 0) + Number(e.amount)
    }
    expect(counts).toEqual({
      'localhost add_money': 20,
      'oski.berkeley.edu add_money': 100,
      'oski.berkeley.edu purchase_sword': 2,
      'oski.berkeley.edu purchase_knife': 15,
      'tree.stanfurd.edu add_money': 1,
      'tree.stanford.edu join_guild': 1,
      'tree.stanford.edu cancel_membership': 1,
      'berkeley.edu join_guild': 1,
      'localhost:5000 mensaje': 2,
    })
    expect(amounts).toEqual({ localhost: 150, 'oski.berkeley.edu': 10_000, 'tree.stanfurd.edu': 1 })
    expect(events.filter((e) => e.event_type === 'purchase_sword').map((e) => e.description)).toEqual([
      'Great Sword',
      'Great Sword',
    ])
    expect(
      events
        .filter((e) => e.event_type === 'mensaje')
        .map((e) => e.message_post)
        .sort(),
    ).toEqual(['this is a GET message', 'this is a POST message - booyah!'])
  })

  it('after a stream run the ledger and the lake match: game check exits 0', async () => {
    const lake = openLake(lakeUrl(), { hdfsUser: 'game' })
    const s = await streamToLake(
      {
        topic,
        group: 'load-pipeline',
        intervalMs: 60_000,
        maxRows: 100_000,
        maxBytes: 64 * 1024 * 1024,
        once: true,
        fromBeginning: true,
        brokers: [brokers],
      },
      { kafka: createKafka({ brokers: [brokers] }), lake },
    )
    expect(s.events).toBe(143)
    const r = await runCli(['check', '--ledger', ledger(), '--lake', lakeUrl(), '--json'], {
      env: { GAME_HOME: home },
    })
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.ok).toBe(true)
    expect(doc.totals).toEqual({ sent: 143, accepted: 143, lake: 143 })
    expect(doc.rows.every((row: { status: string }) => row.status === 'ok')).toBe(true)
    expect(doc.rows).toContainEqual(
      expect.objectContaining({
        host: 'oski.berkeley.edu',
        eventType: 'add_money',
        lake: 100,
        tables: { add_money: 100, transactions: 100 },
      }),
    )
    const human = await runCli(['check', '--ledger', ledger(), '--lake', lakeUrl()], {
      env: { GAME_HOME: home },
    })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('OK: the lake matches the ledger')
  })

  it('the documented `game load --scenario seed --ledger run.json && game stream --once && game check --ledger run.json` exits 0, also after an earlier seed run', async () => {
    // The seed's players are fixed, so the lake already holds a run of them (the test above): the
    // run id in every request's User-Agent is what tells this run's rows apart.
    const second = path.join(home, 'run.json')
    const env = { GAME_HOME: home, GAME_BROKERS: brokers, GAME_LAKE: lakeUrl() }
    const load = await runCli(['load', '--url', api.url, '--scenario', 'seed', '--ledger', second], { env })
    expect(load.code, load.stderr).toBe(0)
    const before = await runCli(['check', '--ledger', second], { env })
    expect(before.code).toBe(5)
    expect(before.stderr).toMatch(/Hint: .*`game stream --once`/)
    const stream = await runCli(['stream', '--once', '--group', 'load-pipeline', '--json'], {
      env,
      timeoutMs: 120_000,
    })
    expect(stream.code, stream.stderr).toBe(0)
    const check = await runCli(['check', '--ledger', second, '--json'], { env })
    expect(check.code, check.stdout).toBe(0)
    const doc = JSON.parse(check.stdout)
    expect(doc.runId).toMatch(/^[0-9a-f]{8}$/)
    expect(doc.totals).toEqual({ sent: 143, accepted: 143, lake: 143 })
    // the first run's ledger still matches only its own rows
    const first = await runCli(['check', '--ledger', ledger(), '--json'], { env })
    expect(first.code, first.stdout).toBe(0)
    // a ledger without a run id (written before run ids) counts every row of its players: duplicates
    const old = JSON.parse(await readFile(second, 'utf8'))
    delete old.runId
    delete old.userAgent
    const oldFile = path.join(home, 'old-ledger.json')
    await writeFile(oldFile, JSON.stringify(old))
    const legacy = await runCli(['check', '--ledger', oldFile], { env })
    expect(legacy.code).toBe(5)
    expect(legacy.stdout).toMatch(/duplicate/)
    expect(legacy.stderr).toMatch(/Hint: This ledger has no run id/)
  })

  it('a crafted ledger (one more accepted, one fewer sent) is reported: exit 5', async () => {
    const crafted = JSON.parse(await readFile(ledger(), 'utf8'))
    const knife = crafted.entries.find((e: { eventType: string }) => e.eventType === 'purchase_knife')
    knife.sent += 1
    knife.accepted += 1
    const join = crafted.entries.find((e: { host: string }) => e.host === 'berkeley.edu')
    join.sent = 0
    join.accepted = 0
    const file = path.join(home, 'crafted.json')
    await writeFile(file, JSON.stringify(crafted))
    const r = await runCli(['check', '--ledger', file, '--lake', lakeUrl(), '--json'], {
      env: { GAME_HOME: home },
    })
    expect(r.code).toBe(5)
    const doc = JSON.parse(r.stdout)
    expect(doc.problems).toBe(2)
    expect(doc.rows).toContainEqual(
      expect.objectContaining({
        host: 'oski.berkeley.edu',
        eventType: 'purchase_knife',
        status: 'missing',
        difference: -1,
      }),
    )
    expect(doc.rows).toContainEqual(
      expect.objectContaining({
        host: 'berkeley.edu',
        eventType: 'join_guild',
        status: 'duplicate',
        difference: 1,
      }),
    )
  })

  it('a deleted lake file shows up as missing events: exit 5, file named', async () => {
    const dir = path.join(home, 'lake', 'guild_membership')
    const [partition] = await readdir(dir)
    const [file] = await readdir(path.join(dir, partition))
    await unlink(path.join(dir, partition, file))
    const r = await runCli(['check', '--ledger', ledger(), '--lake', lakeUrl()], { env: { GAME_HOME: home } })
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(
      /tree\.stanford\.edu\s*\|\s*join_guild\s*\|\s*1\s*\|\s*1\s*\|\s*0\s*\|\s*missing/,
    )
    expect(r.stdout).toMatch(/berkeley\.edu\s*\|\s*join_guild .*missing/)
    expect(r.stdout).toContain(file)
    expect(r.stderr).toContain('Error: 2 player/type rows differ')
  })
})
