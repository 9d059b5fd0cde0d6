import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { isGameError } from '../../../src/lib/errors.js'
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_VERSIONS,
} from '../../../src/lib/kafka/lean-fetcher.js'
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_VERSIONS,
} from '../../../src/lib/kafka/lean-producer.js'
import { Connection, ConnectionPool, refused } from '../../../src/lib/kafka/wire.js'
import { ApiKey, apiSpec } from '../../../src/lib/protocol/apis.js'
import { Reader, Writer } from '../../../src/lib/protocol/primitives.js'
import { decodeMessage, encodeMessage } from '../../../src/lib/protocol/schema.js'

// The hot-path codecs (Produce and Fetch) are hand-written; the descriptor codec, driven by Apache
// Kafka's own message definitions, is the reference. At every version the clients speak, both must
// agree byte for byte on requests, and the hand-written decoders must read what the reference writes.
const versions = (r: readonly [number, number]) => Array.from({ length: r[1] - r[0] + 1 }, (_, i) => r[0] + i)
const produce = apiSpec(ApiKey.Produce)
const fetch = apiSpec(ApiKey.Fetch)

describe('hand-written Produce codec = descriptor codec', () => {
  const batches: [number, Buffer][] = [
    [0, Buffer.from('batch-zero')],
    [3, Buffer.from('batch-three!')],
  ]
  for (const v of versions(PRODUCE_VERSIONS)) {
    it(`request v${v}`, () => {
      const ours = encodeProduceRequest(
        new Writer(64),
        v,
        'game_events',
        1500,
        batches,
        batches.length,
      ).toBuffer()
      const ref = encodeMessage(produce.request, v, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1500,
        topicData: [
          { name: 'game_events', partitionData: batches.map(([index, records]) => ({ index, records })) },
        ],
      }).toBuffer()
      expect(ours.equals(ref)).toBe(true)
    })

    it(`response v${v}`, () => {
      const body = encodeMessage(produce.response, v, {
        responses: [
          {
            name: 'game_events',
            partitionResponses: [
              {
                index: 0,
                errorCode: 0,
                baseOffset: 41n,
                logAppendTimeMs: -1n,
                logStartOffset: 0n,
                recordErrors: [],
              },
              {
                index: 3,
                errorCode: 6,
                baseOffset: -1n,
                logAppendTimeMs: -1n,
                logStartOffset: -1n,
                recordErrors: [{ batchIndex: 0, batchIndexErrorMessage: 'no' }],
                errorMessage: 'not the leader',
              },
            ],
          },
        ],
        throttleTimeMs: 7,
      }).toBuffer()
      const seen: unknown[] = []
      const r = new Reader(body)
      decodeProduceResponse(v, r, (topic, partition, code, base) => seen.push([topic, partition, code, base]))
      expect(seen).toEqual([
        ['game_events', 0, 0, 41n],
        ['game_events', 3, 6, -1n],
      ])
      expect(r.remaining()).toBe(0)
    })
  }
})

describe('hand-written Fetch codec = descriptor codec', () => {
  const opts = { maxWaitMs: 500, maxBytes: 1 << 20, partitionMaxBytes: 1 << 18, isolationLevel: 1 }
  for (const v of versions(FETCH_VERSIONS)) {
    it(`request v${v}`, () => {
      const ours = encodeFetchRequest(
        new Writer(64),
        v,
        opts,
        'game_events',
        [1, 2],
        (p) => p * 100,
      ).toBuffer()
      const ref = encodeMessage(fetch.request, v, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'game_events',
            partitions: [1, 2].map((p) => ({
              partition: p,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(p * 100),
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 18,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }).toBuffer()
      expect(ours.toString('hex')).toBe(ref.toString('hex'))
      // and the reference reads it back
      expect(decodeMessage(fetch.request, v, new Reader(ours)).topics[0].partitions[1].fetchOffset).toBe(200n)
    })

    it(`response v${v}`, () => {
      const records = Buffer.from('some-record-batch-bytes')
      const body = encodeMessage(fetch.response, v, {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: 'game_events',
            partitions: [
              {
                partitionIndex: 1,
                errorCode: 0,
                highWatermark: 1234n,
                lastStableOffset: 1200n,
                logStartOffset: 0n,
                abortedTransactions: [{ producerId: 9n, firstOffset: 1100n }],
                preferredReadReplica: -1,
                records,
              },
              {
                partitionIndex: 2,
                errorCode: 1,
                highWatermark: -1n,
                lastStableOffset: -1n,
                logStartOffset: -1n,
                abortedTransactions: null,
                preferredReadReplica: -1,
                records: null,
              },
            ],
          },
        ],
      }).toBuffer()
      const seen: unknown[] = []
      const r = new Reader(body)
      const top = decodeFetchResponse(v, r, (p) => seen.push(p))
      expect(top).toBe(0)
      expect(r.remaining()).toBe(0)
      expect(seen).toEqual([
        {
          topic: 'game_events',
          partition: 1,
          errorCode: 0,
          highWatermark: 1234,
          aborted: [{ producerId: 9n, firstOffset: 1100 }],
          records,
        },
        { topic: 'game_events', partition: 2, errorCode: 1, highWatermark: -1, aborted: null, records: null },
      ])
    })
  }
})

describe('version choice', () => {
  // A connection that never connects: only its version table is used.
  const conn = () => new Connection('127.0.0.1:1', 'test', 50, 50, () => {})

  it('picks the highest version both sides speak', () => {
    const c = conn()
    c.brokerVersions.set(ApiKey.Produce, [0, 7])
    c.brokerVersions.set(ApiKey.Fetch, [4, 17])
    expect(c.version(ApiKey.Produce, PRODUCE_VERSIONS)).toBe(7)
    expect(c.version(ApiKey.Fetch, FETCH_VERSIONS)).toBe(12)
    c.close()
  })

  it('no overlap is KAFKA_VERSION_UNSUPPORTED naming the API and both ranges', () => {
    const c = conn()
    c.brokerVersions.set(ApiKey.Produce, [0, 2])
    let error: unknown
    try {
      c.version(ApiKey.Produce, PRODUCE_VERSIONS)
    } catch (e) {
      error = e
    }
    expect(isGameError(error) && error.code).toBe('KAFKA_VERSION_UNSUPPORTED')
    expect((error as Error).message).toMatch(/Produce v0\.\.v2; this client speaks v3\.\.v11/)
    expect(() => c.version(ApiKey.DescribeCluster, [0, 1])).toThrow(/DescribeCluster none/)
    c.close()
  })
})

describe('connection errors', () => {
  it('nothing listening is told apart: ECONNREFUSED names the address', async () => {
    const server = net.createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    const pool = new ConnectionPool('test', 2000, 2000)
    await expect(pool.get(`127.0.0.1:${port}`)).rejects.toThrow(
      `nothing listens at 127.0.0.1:${port} (ECONNREFUSED)`,
    )
    pool.close()
  })

  it('a broker that refuses is named with API, version and error name', () => {
    const e = refused('127.0.0.1:9092', ApiKey.Produce, 7, 6)
    expect(e.message).toMatch(/^Kafka at 127\.0\.0\.1:9092 refused Produce v7: NOT_LEADER_OR_FOLLOWER/)
    expect(e.retriable).toBe(true)
  })
})
