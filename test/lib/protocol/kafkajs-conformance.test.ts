import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { apiSpec } from '../../../src/lib/protocol/apis.js'
import { Reader } from '../../../src/lib/protocol/primitives.js'
import { decodeMessage, encodeMessage, type Message } from '../../../src/lib/protocol/schema.js'

/**
 * The descriptors checked against a codec we did not write: kafkajs 2.2.4's own request encoders and
 * response decoders (classic versions only; kafkajs has no flexible versions). A request kafkajs
 * encodes must decode with our descriptors to the same values, and a response we encode must parse
 * with kafkajs's decoder.
 */

const require = createRequire(import.meta.url)
// biome-ignore lint/suspicious/noExplicitAny: kafkajs internals are untyped
type Any = any

function kafkajsApi(dir: string): Record<number, (args: Any) => { request: Any; response: Any }> {
  const mod = require(`kafkajs/src/protocol/requests/${dir}/index.js`)
  return new Proxy({}, { get: (_, v) => mod.protocol({ version: Number(v) }) })
}

async function kafkajsRequestBytes(dir: string, version: number, args: Any): Promise<Buffer> {
  const { request } = kafkajsApi(dir)[version](args)
  const encoder = await request.encode()
  return encoder.buffer
}

async function kafkajsParse(dir: string, version: number, args: Any, body: Buffer): Promise<Any> {
  const { response } = kafkajsApi(dir)[version](args)
  const decoded = await response.decode(body)
  return response.parse(decoded)
}

function ours(key: number, kind: 'request' | 'response', version: number, bytes: Buffer): Message {
  const spec = kind === 'request' ? apiSpec(key).request : apiSpec(key).response
  const r = new Reader(bytes)
  const out = decodeMessage(spec, version, r)
  expect(r.remaining(), `${spec.name} v${version}: bytes left over`).toBe(0)
  return out
}

describe("descriptors agree with kafkajs's encoders (requests)", () => {
  it('Metadata v0-v6', async () => {
    for (let v = 0; v <= 6; v++) {
      const bytes = await kafkajsRequestBytes('metadata', v, {
        topics: ['a', 'bb'],
        allowAutoTopicCreation: false,
      })
      const m = ours(3, 'request', v, bytes)
      expect(
        m.topics.map((t: Message) => t.name),
        `v${v}`,
      ).toEqual(['a', 'bb'])
      if (v >= 4) expect(m.allowAutoTopicCreation).toBe(false)
    }
  })

  it('CreateTopics v0-v3', async () => {
    for (let v = 0; v <= 3; v++) {
      const bytes = await kafkajsRequestBytes('createTopics', v, {
        topics: [
          {
            topic: 't',
            numPartitions: 3,
            replicationFactor: 1,
            configEntries: [{ name: 'retention.ms', value: '5' }],
          },
        ],
        validateOnly: true,
        timeout: 1234,
      })
      const m = ours(19, 'request', v, bytes)
      expect(m.topics[0]).toMatchObject({ name: 't', numPartitions: 3, replicationFactor: 1 })
      expect(m.topics[0].configs).toEqual([{ name: 'retention.ms', value: '5' }])
      expect(m.timeoutMs).toBe(1234)
      if (v >= 1) expect(m.validateOnly).toBe(true)
    }
  })

  it('JoinGroup v0-v5 and SyncGroup v0-v3', async () => {
    for (let v = 0; v <= 5; v++) {
      const bytes = await kafkajsRequestBytes('joinGroup', v, {
        groupId: 'g',
        sessionTimeout: 30000,
        rebalanceTimeout: 60000,
        memberId: 'm-1',
        protocolType: 'consumer',
        groupProtocols: [{ name: 'RoundRobin', metadata: Buffer.from([1, 2, 3]) }],
      })
      const m = ours(11, 'request', v, bytes)
      expect(m).toMatchObject({
        groupId: 'g',
        sessionTimeoutMs: 30000,
        memberId: 'm-1',
        protocolType: 'consumer',
      })
      if (v >= 1) expect(m.rebalanceTimeoutMs).toBe(60000)
      expect(m.protocols[0].name).toBe('RoundRobin')
      expect([...m.protocols[0].metadata]).toEqual([1, 2, 3])
    }
    for (let v = 0; v <= 3; v++) {
      const bytes = await kafkajsRequestBytes('syncGroup', v, {
        groupId: 'g',
        generationId: 4,
        memberId: 'm-1',
        groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from([9]) }],
      })
      const m = ours(14, 'request', v, bytes)
      expect(m).toMatchObject({ groupId: 'g', generationId: 4, memberId: 'm-1' })
      expect(m.assignments[0].memberId).toBe('m-1')
    }
  })

  it('ListOffsets v0-v3, OffsetCommit v0-v5, OffsetFetch v1-v4', async () => {
    for (let v = 0; v <= 3; v++) {
      const bytes = await kafkajsRequestBytes('listOffsets', v, {
        replicaId: -1,
        isolationLevel: 1,
        topics: [{ topic: 't', partitions: [{ partition: 2, timestamp: -1 }] }],
      })
      const m = ours(2, 'request', v, bytes)
      expect(m.replicaId).toBe(-1)
      expect(m.topics[0].name).toBe('t')
      expect(m.topics[0].partitions[0]).toMatchObject({ partitionIndex: 2, timestamp: -1n })
      if (v >= 2) expect(m.isolationLevel).toBe(1)
    }
    for (let v = 0; v <= 5; v++) {
      const bytes = await kafkajsRequestBytes('offsetCommit', v, {
        groupId: 'g',
        groupGenerationId: 3,
        memberId: 'm',
        retentionTime: -1,
        topics: [{ topic: 't', partitions: [{ partition: 1, offset: '42' }] }],
      })
      const m = ours(8, 'request', v, bytes)
      expect(m.groupId).toBe('g')
      expect(m.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 42n })
      if (v >= 1) expect(m.generationIdOrMemberEpoch).toBe(3)
    }
    for (let v = 1; v <= 4; v++) {
      const bytes = await kafkajsRequestBytes('offsetFetch', v, {
        groupId: 'g',
        topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }],
      })
      const m = ours(9, 'request', v, bytes)
      expect(m.groupId).toBe('g')
      expect(m.topics[0].partitionIndexes).toEqual([0, 1])
    }
  })
})

describe("descriptors agree with kafkajs's decoders (responses)", () => {
  it('Metadata v0-v6 responses we encode parse in kafkajs', async () => {
    for (let v = 0; v <= 6; v++) {
      const body = encodeMessage(apiSpec(3).response, v, {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
            isInternal: false,
            partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
          },
        ],
      }).toBuffer()
      const parsed = await kafkajsParse('metadata', v, { topics: [] }, body)
      expect(parsed.brokers, `v${v}`).toEqual([expect.objectContaining({ nodeId: 1, host: 'h', port: 9092 })])
      expect(parsed.topicMetadata[0].topic).toBe('t')
      expect(parsed.topicMetadata[0].partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 1 })
    }
  })

  it('FindCoordinator v0-v2 and ListGroups v0-v2 responses parse in kafkajs', async () => {
    for (let v = 0; v <= 2; v++) {
      const body = encodeMessage(apiSpec(10).response, v, {
        errorCode: 0,
        nodeId: 3,
        host: 'h',
        port: 1,
      }).toBuffer()
      const parsed = await kafkajsParse('findCoordinator', v, { groupId: 'g' }, body)
      expect(parsed.coordinator).toEqual({ nodeId: 3, host: 'h', port: 1 })
      const groups = encodeMessage(apiSpec(16).response, v, {
        errorCode: 0,
        groups: [{ groupId: 'g1', protocolType: 'consumer' }],
      }).toBuffer()
      const listed = await kafkajsParse('listGroups', v, {}, groups)
      expect(listed.groups).toEqual([{ groupId: 'g1', protocolType: 'consumer' }])
    }
  })
})
