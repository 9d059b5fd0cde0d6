import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { Writer } from '../../../src/lib/protocol/primitives.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

const here = path.dirname(fileURLToPath(import.meta.url))

async function rawJoin(port: number, group: string): Promise<number> {
  const c = await RawClient.connect(port)
  // JoinGroup v3: no MEMBER_ID_REQUIRED round trip, so one request joins.
  const body = new Writer()
    .string(group)
    .int32(10_000)
    .int32(10_000)
    .string('')
    .string('consumer')
    .int32(1)
    .string('range')
    .bytes(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
    .toBuffer()
  const r = await c.request(11, 3, body)
  r.int32()
  expect(r.int16()).toBe(0)
  const generation = r.int32()
  c.close()
  return generation
}

describe('broker durability', () => {
  let t: TestBroker | undefined
  let child: ChildProcess | undefined
  const dirs: string[] = []
  afterEach(async () => {
    child?.kill('SIGKILL')
    child = undefined
    await t?.close()
    t = undefined
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('keeps the log, committed offsets and generations across a clean restart', async () => {
    t = await testBroker()
    const kafka = t.kafka('restart')
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: 'keep',
      acks: -1,
      messages: Array.from({ length: 90 }, (_, i) => ({ partition: i % 3, value: `old${i}` })),
    })
    await producer.disconnect()
    const opts = { groupId: 'keep-g', heartbeatInterval: 100, maxWaitTimeInMs: 100 }
    let consumer = kafka.consumer(opts)
    await consumer.connect()
    await consumer.subscribe({ topic: 'keep', fromBeginning: true })
    let seen = 0
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async () => void (++seen === 90 && resolve()) })
    })
    await consumer.disconnect()
    const genBefore = await rawJoin(t.broker.port, 'gen-g')

    await t.restart()

    const kafka2 = t.kafka('restart2')
    const admin = kafka2.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets('keep')
    expect(offsets.map((o) => o.high).sort()).toEqual(['30', '30', '30'])
    const committed = await admin.fetchOffsets({ groupId: 'keep-g', topics: ['keep'] })
    expect(committed[0].partitions.map((p) => p.offset)).toEqual(['30', '30', '30'])
    expect(await rawJoin(t.broker.port, 'gen-g')).toBeGreaterThan(genBefore)

    const producer2 = kafka2.producer()
    await producer2.connect()
    await producer2.send({ topic: 'keep', acks: -1, messages: [{ partition: 1, value: 'new' }] })
    await producer2.disconnect()
    consumer = kafka2.consumer(opts)
    await consumer.connect()
    await consumer.subscribe({ topic: 'keep', fromBeginning: true })
    const after: string[] = []
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          after.push(String(message.value))
          resolve()
        },
      })
    })
    await consumer.disconnect()
    expect(after).toEqual(['new'])
    await admin.disconnect()
  })

  it('a running kafkajs consumer carries on after the broker restarts under it', async () => {
    t = await testBroker()
    const kafka = t.kafka('survivor')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'survive', numPartitions: 2 }] })
    await admin.disconnect()
    const consumer = kafka.consumer({ groupId: 'survive-g', heartbeatInterval: 100, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'survive', fromBeginning: true })
    const seen = new Set<string>()
    let joins = 0
    consumer.on(consumer.events.GROUP_JOIN, () => void joins++)
    void consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'survive', acks: -1, messages: [{ partition: 0, value: 'before' }] })
    const waitFor = async (cond: () => boolean, what: string) => {
      const until = Date.now() + 30_000
      while (!cond()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    await waitFor(() => seen.has('before'), 'the first message')
    const joinsBefore = joins
    await t.restart()
    await producer.send({ topic: 'survive', acks: -1, messages: [{ partition: 1, value: 'after' }] })
    await waitFor(() => seen.has('after'), 'a message produced after the restart')
    // Membership is not persisted: the next heartbeat gets UNKNOWN_MEMBER_ID and kafkajs rejoins.
    await waitFor(() => joins > joinsBefore, 'the consumer to rejoin the group')
    await producer.send({ topic: 'survive', acks: -1, messages: [{ partition: 0, value: 'rejoined' }] })
    await waitFor(() => seen.has('rejoined'), 'a message after the rejoin')
    expect([...seen].sort()).toEqual(['after', 'before', 'rejoined'])
    await producer.disconnect()
    await consumer.disconnect()
    const check = t.kafka('survivor-check').admin()
    await check.connect()
    const committed = await check.fetchOffsets({ groupId: 'survive-g', topics: ['survive'] })
    expect(committed[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '2'],
      [1, '1'],
    ])
    await check.disconnect()
  })

  it('after kill -9 mid-produce, every acknowledged message is readable', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-broker-crash-'))
    dirs.push(dataDir)
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'fixtures/broker-child.ts'), dataDir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child!.stdout!.on('data', (d: Buffer) => {
        out += d
        const line = out.split('\n')[0]
        if (out.includes('\n')) resolve(JSON.parse(line).port)
      })
      child!.once('exit', (code) => reject(new Error(`broker child exited with ${code}`)))
    })
    const kafka = createKafka({
      brokers: [`127.0.0.1:${port}`],
      clientId: 'crash',
      retry: { retries: 0 },
      requestTimeout: 3000,
    })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    const acked = new Set<string>()
    let stop = false
    const killed = new Promise<void>((resolve) => child!.once('exit', () => resolve()))
    const writers = [0, 1, 2].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const values = Array.from({ length: 50 }, (_, j) => `w${w}-${i}-${j}`)
        try {
          await producer.send({
            topic: 'crash',
            acks: -1,
            messages: values.map((value) => ({ partition: w, value })),
          })
          for (const v of values) acked.add(v)
        } catch {
          return
        }
        if (acked.size >= 3000 && child!.exitCode === null && !child!.killed) child!.kill('SIGKILL')
      }
    })
    await killed
    stop = true
    await Promise.all(writers)
    await producer.disconnect().catch(() => {})
    child = undefined
    expect(acked.size).toBeGreaterThanOrEqual(3000)

    const broker = await startBroker({ port: 0, dataDir })
    try {
      const reader = createKafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'crash-read' })
      const admin = reader.admin()
      await admin.connect()
      const highs = await admin.fetchTopicOffsets('crash')
      await admin.disconnect()
      const total = highs.reduce((s, h) => s + Number(h.high), 0)
      expect(total).toBeGreaterThanOrEqual(acked.size)
      const consumer = reader.consumer({ groupId: 'crash-read', maxWaitTimeInMs: 100 })
      await consumer.connect()
      await consumer.subscribe({ topic: 'crash', fromBeginning: true })
      const found = new Set<string>()
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) found.add(String(m.value))
            if (found.size >= total) resolve()
          },
        })
      })
      await consumer.disconnect()
      const missing = [...acked].filter((v) => !found.has(v))
      expect(missing).toEqual([])
    } finally {
      await broker.close()
    }
  })
})
