import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../../src/lib/protocol/apis.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { ErrorCode } from '../../../src/lib/protocol/errors.js'
import { CodecClient } from './codec-client.js'
import { type TestBroker, testBroker } from './helpers.js'
import { recordBatch } from './raw-client.js'

/** An uncompressed batch of `values` from an idempotent producer, CRC recomputed. */
function idempotentBatch(values: string[], producerId: bigint, epoch: number, baseSequence: number): Buffer {
  const b = recordBatch(values, crc32c)
  b.writeBigInt64BE(producerId, 43)
  b.writeInt16BE(epoch, 51)
  b.writeInt32BE(baseSequence, 53)
  b.writeUInt32BE(crc32c(b, 21), 17)
  return b
}

async function produce(c: CodecClient, topic: string, records: Buffer, partition = 0) {
  const r = await c.call(ApiKey.Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  })
  const p = r.responses[0].partitionResponses[0]
  return { error: p.errorCode as number, baseOffset: p.baseOffset as bigint }
}

async function listEnd(t: TestBroker, topic: string, partition: number): Promise<bigint> {
  const c = await CodecClient.connect(t.broker.port)
  try {
    const r = await c.call(ApiKey.ListOffsets, 1, {
      replicaId: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
    })
    return r.topics[0].partitions[0].offset
  } finally {
    c.close()
  }
}

async function initProducerId(c: CodecClient): Promise<bigint> {
  const r = await c.call(ApiKey.InitProducerId, 4, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  })
  expect(r.errorCode).toBe(0)
  return r.producerId
}

describe('idempotent produce', () => {
  let t: TestBroker | undefined
  let c: CodecClient | undefined
  afterEach(async () => {
    c?.close()
    c = undefined
    await t?.close()
    t = undefined
  })

  for (const storage of ['disk', 'memory'] as const) {
    it(`stores a batch retried twice once and acks every try with its offset (${storage})`, async () => {
      t = await testBroker({ storage, defaultPartitions: 1 })
      c = await CodecClient.connect(t.broker.port)
      const admin = t.kafka().admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 1 }] })
      await admin.disconnect()
      const pid = await initProducerId(c)
      expect(await produce(c, 'idem', idempotentBatch(['x'], -1n, -1, -1))).toEqual({
        error: 0,
        baseOffset: 0n,
      })
      const first = await produce(c, 'idem', idempotentBatch(['a', 'b'], pid, 0, 0))
      expect(first).toEqual({ error: 0, baseOffset: 1n })
      // Two retries, one of them pipelined right behind the other.
      const [r1, r2] = await Promise.all([
        produce(c, 'idem', idempotentBatch(['a', 'b'], pid, 0, 0)),
        produce(c, 'idem', idempotentBatch(['a', 'b'], pid, 0, 0)),
      ])
      expect(r1).toEqual(first)
      expect(r2).toEqual(first)
      expect(await listEnd(t, 'idem', 0)).toBe(3n)
      // A retry sent while the original is still being written waits for it and gets its offset.
      const [next, nextRetry] = await Promise.all([
        produce(c, 'idem', idempotentBatch(['c'], pid, 0, 2)),
        produce(c, 'idem', idempotentBatch(['c'], pid, 0, 2)),
      ])
      expect(next).toEqual({ error: 0, baseOffset: 3n })
      expect(nextRetry).toEqual(next)
      // A gap is refused and stores nothing.
      const gap = await produce(c, 'idem', idempotentBatch(['e'], pid, 0, 4))
      expect(gap.error).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
      // A new epoch starts at 0; the old epoch is then stale.
      expect((await produce(c, 'idem', idempotentBatch(['f'], pid, 1, 5))).error).toBe(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      )
      expect(await produce(c, 'idem', idempotentBatch(['f'], pid, 1, 0))).toEqual({
        error: 0,
        baseOffset: 4n,
      })
      expect((await produce(c, 'idem', idempotentBatch(['d'], pid, 0, 3))).error).toBe(
        ErrorCode.INVALID_PRODUCER_EPOCH,
      )
      // Batches without a producer id are never checked.
      expect(await produce(c, 'idem', idempotentBatch(['y'], -1n, -1, -1))).toEqual({
        error: 0,
        baseOffset: 5n,
      })
      expect(await produce(c, 'idem', idempotentBatch(['y'], -1n, -1, -1))).toEqual({
        error: 0,
        baseOffset: 6n,
      })
      expect(await listEnd(t, 'idem', 0)).toBe(7n)
    })
  }

  it('still deduplicates after a restart, also when the batch sits in the last closed segment', async () => {
    // Tiny segments: every batch rolls the log, so the retried batch is in a closed segment.
    t = await testBroker({ defaultPartitions: 1, defaultTopicConfig: { segmentBytes: 100 } })
    c = await CodecClient.connect(t.broker.port)
    const admin = t.kafka().admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 1 }] })
    await admin.disconnect()
    const pid = await initProducerId(c)
    const other = await initProducerId(c)
    const a = await produce(c, 'idem', idempotentBatch(['a'], pid, 0, 0))
    const b = await produce(c, 'idem', idempotentBatch(['b', 'c'], pid, 0, 1))
    const z = await produce(c, 'idem', idempotentBatch(['z'], other, 0, 0))
    expect([a.baseOffset, b.baseOffset, z.baseOffset]).toEqual([0n, 1n, 3n])
    c.close()
    await t.restart()
    c = await CodecClient.connect(t.broker.port)
    // `b` is in the closed segment before the active one, `z` in the active one.
    expect(await produce(c, 'idem', idempotentBatch(['b', 'c'], pid, 0, 1))).toEqual({
      error: 0,
      baseOffset: 1n,
    })
    expect(await produce(c, 'idem', idempotentBatch(['z'], other, 0, 0))).toEqual({
      error: 0,
      baseOffset: 3n,
    })
    expect((await produce(c, 'idem', idempotentBatch(['d'], pid, 0, 4))).error).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    )
    expect(await produce(c, 'idem', idempotentBatch(['d'], pid, 0, 3))).toEqual({ error: 0, baseOffset: 4n })
    expect(await listEnd(t, 'idem', 0)).toBe(5n)
  })

  it('keeps only the last 5 batches per producer: an older retry is out of order', async () => {
    t = await testBroker({ storage: 'memory', defaultPartitions: 1 })
    c = await CodecClient.connect(t.broker.port)
    const admin = t.kafka().admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 1 }] })
    await admin.disconnect()
    const pid = await initProducerId(c)
    for (let seq = 0; seq < 6; seq++)
      expect((await produce(c, 'idem', idempotentBatch([`v${seq}`], pid, 0, seq))).baseOffset).toBe(
        BigInt(seq),
      )
    expect(await produce(c, 'idem', idempotentBatch(['v1'], pid, 0, 1))).toEqual({ error: 0, baseOffset: 1n })
    expect((await produce(c, 'idem', idempotentBatch(['v0'], pid, 0, 0))).error).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    )
  })

  it('serves a kafkajs idempotent producer', async () => {
    t = await testBroker({ defaultPartitions: 2 })
    const kafka = t.kafka()
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'idem-kjs', numPartitions: 2 }] })
    await admin.disconnect()
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    for (let i = 0; i < 20; i++)
      await producer.send({
        topic: 'idem-kjs',
        acks: -1,
        messages: [
          { key: `k${i}`, value: `v${i}`, partition: i % 2 },
          { key: `k${i}b`, value: `v${i}b`, partition: i % 2 },
        ],
      })
    await producer.disconnect()
    expect((await listEnd(t, 'idem-kjs', 0)) + (await listEnd(t, 'idem-kjs', 1))).toBe(40n)
  })
})
