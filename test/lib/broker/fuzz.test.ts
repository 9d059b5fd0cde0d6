// Structured fuzzing: every advertised API and version gets truncated and bit-flipped versions of a
// well-formed kafkajs request, each on its own connection. The broker must answer or close that
// connection, never crash, and keep serving a kafkajs client on another connection.
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SUPPORTED_APIS } from '../../../src/lib/broker/index.js'
import { seededRandom } from '../../helpers/random.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

const require = createRequire(import.meta.url)
type Proto = {
  versions: string[]
  protocol: (o: { version: number }) => (args?: unknown) => {
    request: { apiKey: number; encode: () => Promise<{ buffer: Buffer }> }
  }
}

const SAMPLES: Record<string, unknown> = {
  metadata: { topics: ['fz'], allowAutoTopicCreation: true },
  produce: {
    acks: 1,
    timeout: 1000,
    topicData: [{ topic: 'fz', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }],
  },
  fetch: {
    maxWaitTime: 5,
    minBytes: 1,
    maxBytes: 1 << 16,
    topics: [{ topic: 'fz', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 16 }] }],
  },
  listOffsets: { topics: [{ topic: 'fz', partitions: [{ partition: 0, timestamp: -1 }] }] },
  offsetCommit: {
    groupId: 'fz-g',
    groupGenerationId: -1,
    memberId: '',
    topics: [{ topic: 'fz', partitions: [{ partition: 0, offset: '0' }] }],
  },
  offsetFetch: { groupId: 'fz-g', topics: [{ topic: 'fz', partitions: [{ partition: 0 }] }] },
  findCoordinator: { groupId: 'fz-g' },
  joinGroup: {
    groupId: 'fz-j',
    sessionTimeout: 1000,
    rebalanceTimeout: 1000,
    memberId: '',
    protocolType: 'consumer',
    groupProtocols: [{ name: 'rr', metadata: Buffer.from([0, 1]) }],
  },
  syncGroup: { groupId: 'fz-j', generationId: 1, memberId: 'x', groupAssignment: [] },
  heartbeat: { groupId: 'fz-j', groupGenerationId: 1, memberId: 'x' },
  leaveGroup: { groupId: 'fz-j', memberId: 'x', members: [{ memberId: 'x' }] },
  describeGroups: { groupIds: ['fz-g'] },
  createTopics: { topics: [{ topic: 'fz-new', numPartitions: 1 }], timeout: 100 },
  deleteTopics: { topics: ['fz-none'], timeout: 100 },
  initProducerId: { transactionTimeout: 100 },
  describeConfigs: {
    resources: [{ type: 2, name: 'fz', configNames: ['retention.ms'] }],
    includeSynonyms: true,
  },
}

describe.each(['memory', 'disk'] as const)('structured fuzzing of every API version (%s log)', (storage) => {
  let t: TestBroker
  const errors: string[] = []
  beforeAll(async () => {
    t = await testBroker({
      storage,
      log: (level, message) => {
        if (level === 'error') errors.push(message)
      },
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('answers or drops mangled requests and keeps serving', async () => {
    const { int: rand } = seededRandom(7)
    const bodies: { key: number; version: number; body: Buffer }[] = []
    for (const [name, args] of Object.entries(SAMPLES)) {
      const proto = require(`kafkajs/src/protocol/requests/${name}/index.js`) as Proto
      for (const v of proto.versions.map(Number)) {
        const { request } = proto.protocol({ version: v })(args)
        const range = SUPPORTED_APIS.find((a) => a.key === request.apiKey)!
        if (v < range.minVersion || v > range.maxVersion) continue
        const body = (await request.encode()).buffer
        for (let i = 0; i < 3; i++)
          bodies.push({ key: request.apiKey, version: v, body: body.subarray(0, rand(body.length)) })
        for (let i = 0; i < 3; i++) {
          const flipped = Buffer.from(body)
          flipped[rand(flipped.length)] ^= 1 << rand(8)
          flipped[rand(flipped.length)] = 0xff
          bodies.push({ key: request.apiKey, version: v, body: flipped })
        }
      }
    }
    expect(bodies.length).toBeGreaterThan(300)
    let answered = 0
    let dropped = 0
    // Several at a time, each on its own connection.
    for (let i = 0; i < bodies.length; i += 16) {
      await Promise.all(
        bodies.slice(i, i + 16).map(async ({ key, version, body }) => {
          const c = await RawClient.connect(t.broker.port)
          const outcome = await Promise.race([
            c.request(key, version, body).then(
              () => 'answered',
              () => 'dropped',
            ),
            // A mangled request may legitimately park (e.g. a long-poll fetch); that is not a crash.
            new Promise<string>((r) => setTimeout(() => r('parked'), 2000)),
          ])
          if (outcome === 'answered') answered++
          else if (outcome === 'dropped') dropped++
          c.close()
        }),
      )
    }
    expect(answered + dropped).toBeGreaterThan(bodies.length / 2)
    expect(dropped).toBeGreaterThan(0)
    // Mangled input is a client problem, never an internal error of the broker.
    expect(errors).toEqual([])
    const kafka = t.kafka('after-fuzz')
    const producer = kafka.producer()
    await producer.connect()
    const [r] = await producer.send({ topic: 'fz-after', acks: -1, messages: [{ value: 'still here' }] })
    expect(r.errorCode).toBe(0)
    await producer.disconnect()
  })
})
