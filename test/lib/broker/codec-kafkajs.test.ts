// Every API version the broker advertises that kafkajs also implements: requests encoded by
// kafkajs's own versioned encoders, responses decoded and parsed by its versioned decoders.
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SUPPORTED_APIS } from '../../../src/lib/broker/index.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient } from './raw-client.js'

const require = createRequire(import.meta.url)
type Proto = {
  versions: string[]
  protocol: (o: { version: number }) => (args?: unknown) => {
    request: { apiKey: number; apiVersion: number; encode: () => Promise<{ buffer: Buffer }> }
    response: {
      decode: (b: Buffer) => Promise<unknown>
      parse: (d: unknown) => Promise<Record<string, unknown>>
    }
  }
}
const proto = (name: string) => require(`kafkajs/src/protocol/requests/${name}/index.js`) as Proto

const messages = [{ key: 'k', value: 'v', timestamp: Date.now() }]
const topic = 'codec'
const ARGS: Record<string, { key: number; args: () => unknown }> = {
  apiVersions: { key: 18, args: () => undefined },
  metadata: { key: 3, args: () => ({ topics: [topic], allowAutoTopicCreation: true }) },
  produce: {
    key: 0,
    args: () => ({
      acks: -1,
      timeout: 1000,
      topicData: [{ topic, partitions: [{ partition: 0, messages }] }],
    }),
  },
  fetch: {
    key: 1,
    args: () => ({
      maxWaitTime: 10,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }] }],
    }),
  },
  listOffsets: {
    key: 2,
    args: () => ({ topics: [{ topic, partitions: [{ partition: 0, timestamp: -1 }] }] }),
  },
  findCoordinator: { key: 10, args: () => ({ groupId: 'codec-g' }) },
  offsetCommit: {
    key: 8,
    args: () => ({
      groupId: 'codec-g',
      groupGenerationId: -1,
      memberId: '',
      topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }],
    }),
  },
  offsetFetch: {
    key: 9,
    args: () => ({ groupId: 'codec-g', topics: [{ topic, partitions: [{ partition: 0 }] }] }),
  },
  describeGroups: { key: 15, args: () => ({ groupIds: ['codec-g'] }) },
  listGroups: { key: 16, args: () => undefined },
  createTopics: {
    key: 19,
    args: () => ({
      topics: [{ topic: `codec-${Math.random().toString(36).slice(2)}`, numPartitions: 1 }],
      timeout: 1000,
    }),
  },
  deleteTopics: { key: 20, args: () => ({ topics: ['codec-missing-is-fine'], timeout: 1000 }) },
  initProducerId: { key: 22, args: () => ({ transactionTimeout: 1000 }) },
  describeConfigs: {
    key: 32,
    args: () => ({ resources: [{ type: 4, name: '0' }], includeSynonyms: false }),
  },
  heartbeat: { key: 12, args: () => ({ groupId: 'codec-g', groupGenerationId: 1, memberId: 'nobody' }) },
  leaveGroup: {
    key: 13,
    args: () => ({ groupId: 'codec-g', memberId: 'nobody', members: [{ memberId: 'nobody' }] }),
  },
  syncGroup: {
    key: 14,
    args: () => ({ groupId: 'codec-g', generationId: 1, memberId: 'nobody', groupAssignment: [] }),
  },
  joinGroup: {
    key: 11,
    args: () => ({
      groupId: `codec-j-${Math.random().toString(36).slice(2)}`,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }],
    }),
  },
}

// Errors kafkajs is expected to raise for these arguments (the point is that it could decode them).
const EXPECTED_ERRORS: Record<string, string> = {
  heartbeat: 'UNKNOWN_MEMBER_ID',
  leaveGroup: 'UNKNOWN_MEMBER_ID',
  syncGroup: 'UNKNOWN_MEMBER_ID',
  deleteTopics: 'UNKNOWN_TOPIC_OR_PARTITION',
  joinGroup: 'MEMBER_ID_REQUIRED',
}

describe('broker codec against kafkajs encoders/decoders for every shared version', () => {
  let t: TestBroker
  let client: RawClient
  beforeAll(async () => {
    t = await testBroker({ storage: 'memory' })
    client = await RawClient.connect(t.broker.port)
  })
  afterAll(async () => {
    client?.close()
    await t?.close()
  })

  const cases: [string, number][] = []
  for (const [name, spec] of Object.entries(ARGS)) {
    const range = SUPPORTED_APIS.find((a) => a.key === spec.key)!
    for (const v of proto(name).versions.map(Number)) {
      if (v >= range.minVersion && v <= range.maxVersion) cases.push([name, v])
    }
  }

  it('covers every API kafkajs can call', () => {
    expect(new Set(cases.map(([n]) => n)).size).toBe(Object.keys(ARGS).length)
    expect(cases.length).toBeGreaterThan(50)
  })

  it.each(cases)('%s v%i', async (name, version) => {
    const { request, response } = proto(name).protocol({ version })(ARGS[name].args())
    expect(request.apiVersion).toBe(version)
    const body = (await request.encode()).buffer
    const r = await client.request(request.apiKey, version, body)
    const decoded = await response.decode(r.buf.subarray(r.offset))
    // Produce v0-2 and Fetch v0-3 need the old message formats: advertised as Kafka 3.9 does,
    // answered with UNSUPPORTED_VERSION per partition.
    const old = (name === 'produce' && version < 3) || (name === 'fetch' && version < 4)
    const expected = old ? 'UNSUPPORTED_VERSION' : EXPECTED_ERRORS[name]
    if (expected && !(name === 'joinGroup' && version < 4)) {
      await expect(response.parse(decoded)).rejects.toMatchObject({ type: expected })
      return
    }
    const parsed = await response.parse(decoded)
    expect(parsed).toBeTypeOf('object')
    if ('throttleTime' in parsed) expect(parsed.throttleTime).toBe(0)
    if ('clientSideThrottleTime' in parsed) expect(parsed.clientSideThrottleTime).toBe(0)
  })
})
