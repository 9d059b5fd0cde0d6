import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiSpec } from '../../../src/lib/protocol/apis.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { ErrorCode } from '../../../src/lib/protocol/errors.js'
import { CodecClient } from './codec-client.js'
import { type TestBroker, testBroker } from './helpers.js'
import { recordBatch } from './raw-client.js'

/**
 * The broker's own APIs (not the group ones) at the top of Apache Kafka 3.9's ranges, flexible
 * versions included, through a raw client on the descriptor codec: topic ids, Produce/Fetch by id,
 * ListOffsets max_timestamp, CreatePartitions and DeleteRecords persisted across a restart, and
 * versions the broker cannot serve answered with an error while the connection stays usable.
 */

const top = (key: number) => apiSpec(key).valid[1]

describe('broker core APIs at Kafka 3.9 versions (flexible)', () => {
  let t: TestBroker
  let c: CodecClient
  beforeAll(async () => {
    t = await testBroker({ autoCreateTopics: false })
    c = await CodecClient.connect(t.broker.port)
  })
  afterAll(async () => {
    c?.close()
    await t?.close()
  })

  const metadata = (names: string[] | null) =>
    c.call(3, top(3), {
      topics: names === null ? null : names.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })

  it('ApiVersions v4 lists every API at 3.9 ranges; CreateTopics v7 answers the topic id Metadata v12 shows', async () => {
    const versions = await c.call(18, 4, { clientSoftwareName: 'codec-client', clientSoftwareVersion: '1.0' })
    expect(versions.errorCode).toBe(0)
    const produce = versions.apiKeys.find((a: { apiKey: number }) => a.apiKey === 0)
    expect(produce).toEqual({ apiKey: 0, minVersion: 0, maxVersion: 11 })
    expect(versions.apiKeys.find((a: { apiKey: number }) => a.apiKey === 1).maxVersion).toBe(17)

    const created = await c.call(19, top(19), {
      topics: [{ name: 'flex', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    expect(created.topics[0]).toMatchObject({ name: 'flex', errorCode: 0, numPartitions: 2 })
    const id = created.topics[0].topicId as string
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(id).not.toBe('AAAAAAAAAAAAAAAAAAAAAA')
    const meta = await metadata(['flex'])
    expect(meta.topics[0]).toMatchObject({ name: 'flex', topicId: id, errorCode: 0 })
    expect(meta.topics[0].partitions).toHaveLength(2)
    // By id (v12): the name comes back.
    const byId = await c.call(3, 12, {
      topics: [{ name: null, topicId: id }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    expect(byId.topics[0]).toMatchObject({ name: 'flex', topicId: id, errorCode: 0 })
    const cluster = await c.call(60, top(60), { includeClusterAuthorizedOperations: false, endpointType: 1 })
    expect(cluster).toMatchObject({ errorCode: 0, clusterId: 'game-embedded-kafka', controllerId: 0 })
    expect(cluster.brokers).toEqual([{ brokerId: 0, host: '127.0.0.1', port: t.broker.port, rack: null }])
  })

  it('Produce v11 and Fetch v17 (topic by id) round-trip records; ListOffsets v9 finds the max timestamp', async () => {
    const id = (await metadata(['flex'])).topics[0].topicId
    const base = Date.now()
    const batch = recordBatch(['a', 'b', 'c'], (b, s) => crc32c(b, s), base, [0, 500, 100])
    const produced = await c.call(0, top(0), {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'flex', partitionData: [{ index: 1, records: batch }] }],
    })
    expect(produced.responses[0].partitionResponses[0]).toMatchObject({
      index: 1,
      errorCode: 0,
      baseOffset: 0n,
    })
    const fetched = await c.call(1, top(1), {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topicId: id, partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    })
    expect(fetched.errorCode).toBe(0)
    const p = fetched.responses[0].partitions[0]
    expect(fetched.responses[0].topicId).toBe(id)
    expect(p).toMatchObject({ partitionIndex: 1, errorCode: 0, highWatermark: 3n })
    expect(p.records.readBigInt64BE(0)).toBe(0n)
    expect(p.records.length).toBe(batch.length)

    const unknown = await c.call(1, top(1), {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    expect(unknown.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)

    const offsets = await c.call(2, top(2), {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'flex',
          partitions: [
            { partitionIndex: 1, timestamp: -3n },
            { partitionIndex: 1, timestamp: -1n },
            { partitionIndex: 1, timestamp: -2n },
          ],
        },
      ],
    })
    const [maxTs, latest, earliest] = offsets.topics[0].partitions
    expect(maxTs).toMatchObject({ errorCode: 0, offset: 1n, timestamp: BigInt(base + 500) })
    expect(latest.offset).toBe(3n)
    expect(earliest.offset).toBe(0n)
  })

  it('CreatePartitions v3 and DeleteRecords v2 take effect and survive a restart; a recreated topic gets a new id', async () => {
    const grown = await c.call(37, top(37), {
      topics: [{ name: 'flex', count: 4, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    expect(grown.results[0]).toMatchObject({ name: 'flex', errorCode: 0 })
    const shrink = await c.call(37, top(37), {
      topics: [{ name: 'flex', count: 2, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    expect(shrink.results[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS)
    const deleted = await c.call(21, top(21), {
      topics: [{ name: 'flex', partitions: [{ partitionIndex: 1, offset: 2n }] }],
      timeoutMs: 5000,
    })
    expect(deleted.topics[0].partitions[0]).toEqual({ partitionIndex: 1, lowWatermark: 2n, errorCode: 0 })
    const idBefore = (await metadata(['flex'])).topics[0].topicId

    c.close()
    await t.restart()
    c = await CodecClient.connect(t.broker.port)
    const meta = await metadata(['flex'])
    expect(meta.topics[0].partitions).toHaveLength(4)
    expect(meta.topics[0].topicId).toBe(idBefore)
    const earliest = await c.call(2, top(2), {
      replicaId: -1,
      topics: [{ name: 'flex', partitions: [{ partitionIndex: 1, timestamp: -2n }] }],
    })
    expect(earliest.topics[0].partitions[0].offset).toBe(2n)
    const below = await c.call(1, top(1), {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topicId: idBefore, partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    expect(below.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)

    // Delete by id (v6), create again: a new id.
    const gone = await c.call(20, top(20), { topics: [{ name: null, topicId: idBefore }], timeoutMs: 5000 })
    expect(gone.responses[0]).toMatchObject({ name: 'flex', topicId: idBefore, errorCode: 0 })
    const again = await c.call(19, top(19), {
      topics: [{ name: 'flex', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    })
    expect(again.topics[0].topicId).not.toBe(idBefore)
  })

  it('versions it cannot serve get an error code and the connection stays usable', async () => {
    const old = await c.call(0, 2, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'flex', partitionData: [{ index: 0, records: Buffer.from([1, 2, 3]) }] }],
    })
    expect(old.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION)
    const fetch0 = await c.call(1, 0, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      topics: [{ topic: 'flex', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }] }],
    })
    expect(fetch0.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION)
    const session = await c.call(1, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 100,
      sessionId: 42,
      sessionEpoch: 3,
      topics: [],
      forgottenTopicsData: [],
      rackId: '',
    })
    expect(session.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    const still = await metadata(['flex'])
    expect(still.topics[0].errorCode).toBe(0)
    expect(t.broker.stats().rejectedConnections).toBe(0)
  })
})
