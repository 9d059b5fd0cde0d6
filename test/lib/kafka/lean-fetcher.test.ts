import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { CompressionTypes, type Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import { GameError } from '../../../src/lib/errors.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import {
  type AbortedTransaction,
  createLeanFetcher,
  type FetchedPartition,
  forEachRecord,
  type LeanFetcher,
  nextFetchOffset,
} from '../../../src/lib/kafka/lean-fetcher.js'
import { encodeRecordBatch, type LeanMessage } from '../../../src/lib/kafka/lean-producer.js'
import { KafkaRequestError, NETWORK } from '../../../src/lib/kafka/wire.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'

/** One record as both readers see it: offset, timestamp, value as hex (null for a null value). */
interface Row {
  offset: number
  timestamp: number
  value: string | null
}

const TOPIC = 'lean-fetch'
const PARTITIONS = [0, 1, 2]

let dataDir: string
let broker: BrokerHandle
let kafka: Kafka
let brokers: string[]
/** What kafkajs's consumer reads from TOPIC, per partition. */
let expected: Map<number, Row[]>

// ---- helpers ------------------------------------------------------------------------------------

/** Walks records, collecting rows; checks every visit lies in [from, returned offset). */
function walk(
  records: Buffer,
  from: number,
  aborted?: readonly AbortedTransaction[] | null,
): { rows: Row[]; next: number } {
  const rows: Row[] = []
  const next = forEachRecord(
    records,
    from,
    (offset, timestamp, buf, start, end) => {
      if (start === -1) expect(end).toBe(-1)
      rows.push({ offset, timestamp, value: start === -1 ? null : buf.toString('hex', start, end) })
    },
    aborted,
  )
  for (const r of rows) {
    expect(r.offset).toBeGreaterThanOrEqual(from)
    expect(r.offset).toBeLessThan(next)
  }
  return { rows, next }
}

/** Batch boundaries read independently of the module: end byte, last offset, codec of each complete batch. */
function batchEnds(records: Buffer): { end: number; lastOffset: number; codec: number }[] {
  const out: { end: number; lastOffset: number; codec: number }[] = []
  let at = 0
  while (at + 61 <= records.length) {
    const end = at + 12 + records.readInt32BE(at + 8)
    if (end > records.length) break
    out.push({
      end,
      lastOffset: Number(records.readBigInt64BE(at)) + records.readInt32BE(at + 23),
      codec: records.readInt16BE(at + 21) & 0x07,
    })
    at = end
  }
  return out
}

/** Deterministic pseudo-random numbers (LCG), so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface LeanRead {
  rows: Map<number, Row[]>
  responses: number
  /** Responses holding more than one batch / exactly one batch larger than partitionMaxBytes. */
  multiBatch: number
  oversizedSingle: number
  /** Responses the test cut inside a batch before walking. */
  cut: number
}

/**
 * Reads every partition from offset 0 to its high watermark with the lean fetcher, advancing each
 * position by forEachRecord's return value. With `cutSeed`, each response is cut at a random byte
 * past its first batch (as Apache Kafka cuts a response at the size limit, mid-batch).
 */
async function readLean(
  fetcher: LeanFetcher,
  partitionMaxBytes: number,
  cutSeed?: number,
): Promise<LeanRead> {
  const latest = await fetcher.listOffsets(PARTITIONS, 'latest')
  const positions = new Map(PARTITIONS.map((p) => [p, 0]))
  const out: LeanRead = {
    rows: new Map(PARTITIONS.map((p) => [p, []])),
    responses: 0,
    multiBatch: 0,
    oversizedSingle: 0,
    cut: 0,
  }
  const random = cutSeed === undefined ? undefined : rng(cutSeed)
  for (let round = 0; ; round++) {
    expect(round).toBeLessThan(2000)
    const want = new Map([...positions].filter(([p, o]) => o < (latest.get(p) ?? 0)))
    if (want.size === 0) break
    const fetched = await fetcher.fetch(want)
    expect(fetched.map((f) => f.partition).sort()).toEqual([...want.keys()].sort())
    for (const f of fetched) {
      expect(f.error).toBeUndefined()
      expect(f.errorCode).toBe(0)
      expect(f.fetchOffset).toBe(want.get(f.partition))
      expect(f.highWatermark).toBe(latest.get(f.partition))
      expect(f.records).not.toBeNull()
      let records = f.records as Buffer
      out.responses++
      const ends = batchEnds(records)
      expect(ends.length).toBeGreaterThan(0)
      expect(ends[ends.length - 1].end).toBe(records.length) // the embedded broker sends whole batches
      if (ends.length > 1) {
        out.multiBatch++
        expect(records.length).toBeLessThanOrEqual(partitionMaxBytes)
      } else if (records.length > partitionMaxBytes) out.oversizedSingle++
      if (random && ends.length > 1) {
        const cutAt = ends[0].end + Math.floor(random() * (records.length - ends[0].end))
        if (!ends.some((e) => e.end === cutAt)) out.cut++
        records = records.subarray(0, cutAt)
      }
      const { rows, next } = walk(records, f.fetchOffset, f.aborted)
      expect(nextFetchOffset(records, f.fetchOffset)).toBe(next)
      expect(next).toBeGreaterThan(f.fetchOffset)
      out.rows.get(f.partition)?.push(...rows)
      positions.set(f.partition, next)
    }
  }
  return out
}

/** Reads TOPIC with a kafkajs consumer from the beginning until `total` messages arrived. */
async function readKafkajs(total: number): Promise<Map<number, Row[]>> {
  const rows = new Map<number, Row[]>(PARTITIONS.map((p) => [p, []]))
  const consumer = kafka.consumer({
    groupId: `lean-fetch-check-${Date.now()}`,
    allowAutoTopicCreation: false,
  })
  await consumer.connect()
  try {
    let seen = 0
    let done!: () => void
    const all = new Promise<void>((resolve) => {
      done = resolve
    })
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        rows.get(partition)?.push({
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          value: message.value === null ? null : message.value.toString('hex'),
        })
        if (++seen === total) done()
      },
    })
    await all
  } finally {
    await consumer.disconnect()
  }
  return rows
}

function gameErrorOf(fn: () => unknown): GameError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GameError)
    return error as GameError
  }
  throw new Error('expected a GameError, nothing was thrown')
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

// ---- the embedded broker, filled with a mix of batches -------------------------------------------

const T0 = 1_700_000_000_000

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-lean-fetch-'))
  broker = await startBroker({ port: 0, dataDir })
  brokers = [`${broker.host}:${broker.port}`]
  kafka = createKafka({ brokers, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
  await admin.disconnect()

  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  let total = 0
  const send = async (
    messages: {
      partition: number
      key?: string
      value: string | Buffer | null
      headers?: Record<string, string>
      timestamp?: string
    }[],
    compression?: CompressionTypes,
  ) => {
    await producer.send({ topic: TOPIC, messages, compression })
    total += messages.length
  }
  for (let round = 0; round < 6; round++) {
    for (const partition of PARTITIONS) {
      // Plain values, several records per batch.
      await send(
        Array.from({ length: 4 }, (_, i) => ({ partition, value: `plain-${round}-${partition}-${i}` })),
      )
      // Keys, headers, a null value, an empty value, unicode, explicit (non-monotonic) timestamps.
      await send([
        { partition, key: `k${round}`, value: 'héllo ☃ 😀', timestamp: String(T0 + round * 1000) },
        {
          partition,
          key: 'with-headers',
          value: `{"round":${round}}`,
          headers: { trace: 'abc', ü: 'ñ' },
          timestamp: String(T0 + round * 1000 - 5000),
        },
        { partition, key: 'tombstone', value: null, timestamp: String(T0 + round * 1000 + 77) },
        { partition, value: '', timestamp: String(T0 + round * 1000 + 123_456) },
      ])
    }
  }
  // A gzip batch per partition (values compress well, so the batch is much smaller than its records).
  for (const partition of PARTITIONS) {
    await send(
      Array.from({ length: 30 }, (_, i) => ({
        partition,
        key: i % 2 === 0 ? `gz${i}` : undefined,
        value: i === 7 ? null : `gzip ${'€'.repeat(i)} ${i}`.repeat(3),
        timestamp: String(T0 + 10 * i),
      })),
      CompressionTypes.GZIP,
    )
  }
  // One batch far larger than partitionMaxBytes (it must still come whole), then a few single ones.
  await send([{ partition: 1, value: Buffer.alloc(2000, 0xab) }])
  for (let i = 0; i < 5; i++) await send([{ partition: i % 3, value: Buffer.from([i, 0, 255]) }])
  await producer.disconnect()

  expected = await readKafkajs(total)
}, 30_000)

afterAll(async () => {
  await broker?.close()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

// ---- against the embedded broker ----------------------------------------------------------------

describe('createLeanFetcher against the embedded broker', () => {
  it('reads every partition exactly as kafkajs does (offsets, timestamps, values, nulls, gzip)', async () => {
    // The fixture itself: every partition holds many records, with the cases under test.
    for (const p of PARTITIONS) {
      const rows = expected.get(p) ?? []
      expect(rows.length).toBeGreaterThan(50)
      expect(rows.map((r) => r.offset)).toEqual(rows.map((_, i) => i))
      expect(rows.some((r) => r.value === null)).toBe(true)
      expect(rows.some((r) => r.value === '')).toBe(true)
      expect(rows.some((r) => r.value === Buffer.from('héllo ☃ 😀').toString('hex'))).toBe(true)
      expect(rows.some((r) => r.timestamp === T0 - 5000)).toBe(true)
    }

    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, partitionMaxBytes: 300 })
    try {
      const read = await readLean(fetcher, 300)
      for (const p of PARTITIONS) expect(read.rows.get(p), `partition ${p}`).toEqual(expected.get(p))
      // The size limit was honoured: many responses, several holding more than one batch, and the
      // 2000-byte batch came whole on its own.
      expect(read.responses).toBeGreaterThan(15)
      expect(read.multiBatch).toBeGreaterThan(5)
      expect(read.oversizedSingle).toBeGreaterThanOrEqual(1)
    } finally {
      fetcher.close()
    }
  })

  it('reads the same when every response is cut inside a batch (the partial batch is left for the next fetch)', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, partitionMaxBytes: 700 })
    try {
      const read = await readLean(fetcher, 700, 42)
      expect(read.cut).toBeGreaterThan(5)
      for (const p of PARTITIONS) expect(read.rows.get(p), `partition ${p}`).toEqual(expected.get(p))
    } finally {
      fetcher.close()
    }
  })

  it('every prefix of a real response: only complete batches are visited, the return value is the next offset', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, partitionMaxBytes: 4000, maxBytes: 100_000 })
    try {
      const fetched = await fetcher.fetch(new Map(PARTITIONS.map((p) => [p, 0])))
      let prefixes = 0
      let gzipBatches = 0
      for (const f of fetched) {
        const records = f.records as Buffer
        const full = walk(records, 0)
        expect(full.rows).toEqual((expected.get(f.partition) ?? []).slice(0, full.rows.length))
        const ends = batchEnds(records)
        expect(ends.length).toBeGreaterThan(3)
        gzipBatches += ends.filter((e) => e.codec === 1).length
        // Plain comparisons in the loop (thousands of prefixes), one assertion on the mismatches.
        const mismatches: string[] = []
        for (let length = 0; length <= records.length; length++) {
          const prefix = records.subarray(0, length)
          const complete = ends.filter((e) => e.end <= length)
          const last = complete.length > 0 ? complete[complete.length - 1].lastOffset : -1
          const offsets: number[] = []
          const next = forEachRecord(prefix, 0, (offset) => offsets.push(offset))
          const want = full.rows.filter((r) => r.offset <= last).map((r) => r.offset)
          if (next !== last + 1 || nextFetchOffset(prefix, 0) !== next || offsets.join() !== want.join())
            mismatches.push(`p${f.partition} length ${length}: next ${next}, visited ${offsets.join()}`)
          prefixes++
        }
        expect(mismatches).toEqual([])
      }
      expect(prefixes).toBeGreaterThan(3000)
      expect(gzipBatches).toBeGreaterThan(0)
    } finally {
      fetcher.close()
    }
  })

  it('a fetch offset inside a batch: the whole batch comes back, records before the offset are not visited', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, partitionMaxBytes: 300 })
    try {
      // Partition 0 begins with a batch of 4 plain records (offsets 0..3).
      const [f] = await fetcher.fetch(new Map([[0, 2]]))
      const records = f.records as Buffer
      expect(Number(records.readBigInt64BE(0))).toBe(0) // the batch starts before the fetch offset
      const { rows, next } = walk(records, 2)
      expect(rows[0]).toEqual(expected.get(0)?.[2])
      expect(rows).toEqual((expected.get(0) ?? []).slice(2, next))
      expect(next).toBe(nextFetchOffset(records, 2))
      // Into the gzip batch: it decompresses whole, the records before the offset are skipped.
      const rows0 = expected.get(0) ?? []
      const gzFirst = rows0.findIndex(
        (r) => r.timestamp === T0 && r.value?.startsWith(Buffer.from('gzip').toString('hex')),
      )
      expect(gzFirst).toBeGreaterThan(0)
      const [g] = await fetcher.fetch(new Map([[0, gzFirst + 11]]))
      const gzRecords = g.records as Buffer
      expect(Number(gzRecords.readBigInt64BE(0))).toBe(gzFirst)
      expect(gzRecords.readInt16BE(21) & 0x07).toBe(1) // gzip
      const gz = walk(gzRecords, gzFirst + 11)
      expect(gz.rows[0]).toEqual(rows0[gzFirst + 11])
      expect(gz.rows).toEqual(rows0.slice(gzFirst + 11, gz.next))
      expect(gz.next).toBeGreaterThanOrEqual(gzFirst + 30)
      expect(gz.next).toBe(nextFetchOffset(gzRecords, gzFirst + 11))
    } finally {
      fetcher.close()
    }
  })

  it('listOffsets earliest / latest match kafkajs admin.fetchTopicOffsets low / high', async () => {
    const admin = kafka.admin()
    await admin.connect()
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC })
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC)
      const earliest = await fetcher.listOffsets(PARTITIONS, 'earliest')
      const latest = await fetcher.listOffsets(PARTITIONS, 'latest')
      expect([...latest.keys()].sort()).toEqual(PARTITIONS)
      for (const o of offsets) {
        expect(earliest.get(o.partition)).toBe(Number(o.low))
        expect(latest.get(o.partition)).toBe(Number(o.high))
        expect(latest.get(o.partition)).toBe(expected.get(o.partition)?.length)
      }
      // A subset asks for those partitions only.
      expect([...(await fetcher.listOffsets([2], 'latest'))]).toEqual([[2, latest.get(2)]])
    } finally {
      fetcher.close()
      await admin.disconnect()
    }
  })

  it('a fetch offset past the end answers OFFSET_OUT_OF_RANGE (1) for that partition only', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, maxWaitMs: 20 })
    try {
      const latest = await fetcher.listOffsets(PARTITIONS, 'latest')
      const past = (latest.get(0) ?? 0) + 5
      const fetched = await fetcher.fetch(
        new Map([
          [0, past],
          [1, 0],
          [2, latest.get(2) ?? 0], // exactly at the end: no error, no records
        ]),
      )
      const byPartition = new Map(fetched.map((f) => [f.partition, f]))
      const p0 = byPartition.get(0) as FetchedPartition
      expect(p0.errorCode).toBe(1)
      expect(p0.fetchOffset).toBe(past)
      expect(p0.records).toBeNull()
      expect(p0.error).toBeInstanceOf(KafkaRequestError)
      expect((p0.error as KafkaRequestError).retriable).toBe(false)
      expect(byPartition.get(1)?.errorCode).toBe(0)
      expect(walk(byPartition.get(1)?.records as Buffer, 0).rows[0]).toEqual(expected.get(1)?.[0])
      const p2 = byPartition.get(2) as FetchedPartition
      expect(p2.errorCode).toBe(0)
      expect(p2.highWatermark).toBe(latest.get(2))
      expect(p2.records?.length).toBe(0)
      expect(forEachRecord(p2.records as Buffer, p2.fetchOffset, () => expect.unreachable())).toBe(
        latest.get(2),
      )
      // A negative offset is below the log start: out of range too.
      const [neg] = await fetcher.fetch(new Map([[1, -3]]))
      expect(neg.errorCode).toBe(1)
    } finally {
      fetcher.close()
    }
  })

  it('an unknown topic fails each partition with UNKNOWN_TOPIC_OR_PARTITION (3) and creates nothing', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: 'lean-fetch-missing' })
    try {
      const fetched = await fetcher.fetch(
        new Map([
          [0, 0],
          [1, 7],
        ]),
      )
      expect(fetched.map((f) => [f.partition, f.errorCode, f.fetchOffset, f.records])).toEqual([
        [0, 3, 0, null],
        [1, 3, 7, null],
      ])
      await expect(fetcher.listOffsets([0], 'latest')).rejects.toMatchObject({ errorCode: 3 })
      const admin = kafka.admin()
      await admin.connect()
      expect(await admin.listTopics()).not.toContain('lean-fetch-missing')
      await admin.disconnect()
    } finally {
      fetcher.close()
    }
  })

  it('a partition id the topic does not have fails with UNKNOWN_TOPIC_OR_PARTITION (3), the others are served', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC, maxWaitMs: 20 })
    try {
      const fetched = await fetcher.fetch(
        new Map([
          [7, 0],
          [1, 0],
          [-1, 0],
        ]),
      )
      const byPartition = new Map(fetched.map((f) => [f.partition, f]))
      expect(byPartition.get(7)?.errorCode).toBe(3)
      expect(byPartition.get(-1)?.errorCode).toBe(3)
      expect(byPartition.get(7)?.error?.message).toMatch(/has no partition/)
      expect(byPartition.get(1)?.errorCode).toBe(0)
      await expect(fetcher.listOffsets([7], 'earliest')).rejects.toMatchObject({ errorCode: 3 })
      expect((await fetcher.listOffsets([0], 'earliest')).get(0)).toBe(0)
    } finally {
      fetcher.close()
    }
  })

  it('keeps the leaders between fetches; invalidate() makes the next fetch ask for metadata again', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC })
    const metadata = () => broker.stats().requests.Metadata ?? 0
    try {
      const positions = new Map([[0, 0]])
      const before = metadata()
      expect((await fetcher.fetch(positions))[0].errorCode).toBe(0)
      expect(metadata()).toBe(before + 1)
      expect((await fetcher.fetch(positions))[0].errorCode).toBe(0)
      expect(metadata()).toBe(before + 1)
      fetcher.invalidate()
      expect((await fetcher.fetch(positions))[0].errorCode).toBe(0)
      expect(metadata()).toBe(before + 2)
    } finally {
      fetcher.close()
    }
  })

  it('after close(), fetch resolves with NETWORK errors and listOffsets rejects', async () => {
    const fetcher = createLeanFetcher({ brokers, topic: TOPIC })
    expect((await fetcher.fetch(new Map([[0, 0]])))[0].errorCode).toBe(0)
    fetcher.close()
    const fetched = await fetcher.fetch(
      new Map([
        [0, 0],
        [2, 4],
      ]),
    )
    expect(fetched.map((f) => [f.partition, f.errorCode, f.fetchOffset])).toEqual([
      [0, NETWORK, 0],
      [2, NETWORK, 4],
    ])
    await expect(fetcher.listOffsets([0], 'latest')).rejects.toMatchObject({ errorCode: NETWORK })
  })

  it('a stopped broker: fetch resolves (never throws) with NETWORK (-100) for every partition', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-lean-fetch-stop-'))
    let other: BrokerHandle | undefined = await startBroker({ port: 0, dataDir: dir })
    try {
      const address = [`${other.host}:${other.port}`]
      const otherKafka = createKafka({ brokers: address, retry: { retries: 0 } })
      const admin = otherKafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
      await admin.disconnect()

      const fetcher = createLeanFetcher({
        brokers: address,
        topic: TOPIC,
        maxWaitMs: 10,
        requestTimeoutMs: 5000,
      })
      const positions = new Map(PARTITIONS.map((p) => [p, 0]))
      expect((await fetcher.fetch(positions)).map((f) => f.errorCode)).toEqual([0, 0, 0])
      await other.close()
      other = undefined
      const started = performance.now()
      // Connected before: the broker's close drops the connection.
      const down = await fetcher.fetch(positions)
      expect(down.map((f) => [f.partition, f.errorCode, f.records])).toEqual([
        [0, NETWORK, null],
        [1, NETWORK, null],
        [2, NETWORK, null],
      ])
      for (const f of down) expect(f.error).toBeInstanceOf(KafkaRequestError)
      // And again, now through a fresh metadata request to the dead address.
      expect((await fetcher.fetch(positions)).map((f) => f.errorCode)).toEqual([NETWORK, NETWORK, NETWORK])
      expect(performance.now() - started).toBeLessThan(3000) // failed fast, not by request timeout
      await expect(fetcher.listOffsets(PARTITIONS, 'latest')).rejects.toMatchObject({ errorCode: NETWORK })
      fetcher.close()

      // A fetcher that never reached any broker.
      const never = createLeanFetcher({ brokers: [`127.0.0.1:${await freePort()}`], topic: TOPIC })
      expect((await never.fetch(positions)).map((f) => [f.partition, f.errorCode])).toEqual([
        [0, NETWORK],
        [1, NETWORK],
        [2, NETWORK],
      ])
      never.close()
    } finally {
      await other?.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses an empty broker list', () => {
    expect(() => createLeanFetcher({ brokers: [], topic: TOPIC })).toThrow(/no Kafka brokers/)
  })
})

// ---- forEachRecord / nextFetchOffset on hand-built batches ------------------------------------------

const ABORT_KEY = '\u0000\u0000\u0000\u0000' // control record key: version 0, type 0 (ABORT)
const COMMIT_KEY = '\u0000\u0000\u0000\u0001' // version 0, type 1 (COMMIT)

/** An uncompressed RecordBatch v2 at baseOffset, with attributes and producer id patched in (CRC fixed). */
function batch(
  baseOffset: number,
  values: string[],
  options: { attributes?: number; producerId?: bigint; timestamp?: number; key?: string } = {},
): Buffer {
  const messages: LeanMessage[] = values.map((value) => ({ key: options.key ?? null, value }))
  const buf = encodeRecordBatch(messages, options.timestamp ?? T0)
  buf.writeBigInt64BE(BigInt(baseOffset), 0)
  if (options.attributes !== undefined) buf.writeInt16BE(options.attributes, 21)
  if (options.producerId !== undefined) buf.writeBigInt64BE(options.producerId, 43)
  return fixCrc(buf)
}

/** Recomputes a batch's CRC-32C after a test patched it. */
function fixCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b, 21), 17)
  return b
}

/** A control batch (one record) of a producer: an ABORT or COMMIT marker. */
function marker(offset: number, producerId: bigint, type: 'abort' | 'commit'): Buffer {
  return batch(offset, [''], {
    attributes: 0x30,
    producerId,
    key: type === 'abort' ? ABORT_KEY : COMMIT_KEY,
  })
}

function offsetsOf(
  records: Buffer,
  from: number,
  aborted?: AbortedTransaction[],
): { offsets: number[]; next: number } {
  const { rows, next } = walk(records, from, aborted)
  return { offsets: rows.map((r) => r.offset), next }
}

const hex = (s: string) => Buffer.from(s).toString('hex')

describe('forEachRecord', () => {
  it('visits each record with its offset, timestamp and value bytes', () => {
    const records = Buffer.concat([
      batch(0, ['a', 'héllo ☃ 😀', '']),
      batch(3, ['x'.repeat(300)], { timestamp: T0 + 9 }),
    ])
    const { rows, next } = walk(records, 0)
    expect(rows).toEqual([
      { offset: 0, timestamp: T0, value: hex('a') },
      { offset: 1, timestamp: T0, value: hex('héllo ☃ 😀') },
      { offset: 2, timestamp: T0, value: '' },
      { offset: 3, timestamp: T0 + 9, value: hex('x'.repeat(300)) },
    ])
    expect(next).toBe(4)
    expect(nextFetchOffset(records, 0)).toBe(4)
  })

  it('skips the records below `from` inside a batch, and whole batches below it', () => {
    const records = Buffer.concat([batch(100, ['a', 'b', 'c', 'd', 'e']), batch(105, ['f', 'g'])])
    expect(offsetsOf(records, 102)).toEqual({ offsets: [102, 103, 104, 105, 106], next: 107 })
    expect(offsetsOf(records, 104)).toEqual({ offsets: [104, 105, 106], next: 107 })
    expect(offsetsOf(records, 106)).toEqual({ offsets: [106], next: 107 })
    // `from` past everything: nothing visited, the position does not move back.
    expect(offsetsOf(records, 500)).toEqual({ offsets: [], next: 500 })
    expect(nextFetchOffset(records, 500)).toBe(500)
    expect(nextFetchOffset(records, 102)).toBe(107)
  })

  it('reads offsets and timestamps beyond 32 bits exactly', () => {
    const base = 2 ** 40 + 5
    const { rows, next } = walk(batch(base, ['v', 'w'], { timestamp: 4_102_444_800_123 }), base + 1)
    expect(rows).toEqual([{ offset: base + 1, timestamp: 4_102_444_800_123, value: hex('w') }])
    expect(next).toBe(base + 2)
  })

  it('a null value is visited with start = end = -1', () => {
    const b = batch(0, ['ab', 'second-value'])
    // Patch the second record's value length varint (zig-zag 12 → 24) to -1 (zig-zag 1): the value
    // bytes stay behind as record padding, which the walker must skip by the record length.
    const at = b.indexOf(Buffer.from('second-value')) - 1
    expect(b[at]).toBe(24)
    b[at] = 1
    fixCrc(b)
    expect(walk(b, 0).rows).toEqual([
      { offset: 0, timestamp: T0, value: hex('ab') },
      { offset: 1, timestamp: T0, value: null },
    ])
  })

  it('LogAppendTime batches give every record the batch max timestamp', () => {
    const b = batch(0, ['a', 'b'], { attributes: 0x08 })
    b.writeBigInt64BE(BigInt(T0 + 5555), 35)
    fixCrc(b)
    expect(walk(b, 0).rows.map((r) => r.timestamp)).toEqual([T0 + 5555, T0 + 5555])
  })

  it('decodes a gzip batch (codec 1)', () => {
    const plain = batch(10, ['one', 'twö', 'three'])
    const compressed = gzipSync(plain.subarray(61))
    const b = Buffer.concat([plain.subarray(0, 61), compressed])
    b.writeInt32BE(b.length - 12, 8)
    b.writeInt16BE(1, 21)
    fixCrc(b)
    expect(walk(b, 11).rows.map((r) => Buffer.from(r.value ?? '', 'hex').toString())).toEqual([
      'twö',
      'three',
    ])
    expect(nextFetchOffset(b, 0)).toBe(13)
    // Garbage instead of gzip data: CORRUPT_RECORDS.
    fixCrc(b.fill(0x42, 61))
    expect(gameErrorOf(() => walk(b, 0)).code).toBe('CORRUPT_RECORDS')
  })

  it('skips control batches, but moves the position past them', () => {
    const records = Buffer.concat([batch(0, ['a']), marker(1, -1n, 'commit'), batch(2, ['b'])])
    expect(offsetsOf(records, 0)).toEqual({ offsets: [0, 2], next: 3 })
    // A response ending in a control batch still advances past it.
    expect(offsetsOf(records.subarray(0, records.length - batch(2, ['b']).length), 0)).toEqual({
      offsets: [0],
      next: 2,
    })
  })

  it('read_committed: leaves out aborted transactions; a producer is visible again after its ABORT marker', () => {
    const TXN = 0x10
    const head = [
      batch(0, ['p7-aborted-0', 'p7-aborted-1'], { attributes: TXN, producerId: 7n }),
      batch(2, ['p8-committed-2', 'p8-committed-3'], { attributes: TXN, producerId: 8n }),
      marker(4, 7n, 'abort'),
      marker(5, 8n, 'commit'),
      batch(6, ['p7-next-6', 'p7-next-7'], { attributes: TXN, producerId: 7n }),
    ]
    const records = Buffer.concat([...head, marker(8, 7n, 'commit'), batch(9, ['plain-9'])])
    // Without an aborted list: every data record (control batches still skipped).
    expect(offsetsOf(records, 0)).toEqual({ offsets: [0, 1, 2, 3, 6, 7, 9], next: 10 })
    expect(offsetsOf(records, 0, [])).toEqual({ offsets: [0, 1, 2, 3, 6, 7, 9], next: 10 })
    // Producer 7's first transaction aborted.
    expect(offsetsOf(records, 0, [{ producerId: 7n, firstOffset: 0 }])).toEqual({
      offsets: [2, 3, 6, 7, 9],
      next: 10,
    })
    expect(nextFetchOffset(records, 0)).toBe(10)
    // Both of producer 7's transactions aborted (the second marker an ABORT too); order of the list does not matter.
    const both = Buffer.concat([...head, marker(8, 7n, 'abort'), batch(9, ['plain-9'])])
    expect(batchEnds(both).map((e) => e.lastOffset)).toEqual([1, 3, 4, 5, 7, 8, 9])
    expect(
      offsetsOf(both, 0, [
        { producerId: 7n, firstOffset: 6 },
        { producerId: 7n, firstOffset: 0 },
      ]),
    ).toEqual({ offsets: [2, 3, 9], next: 10 })
    // Producer 8 aborted instead: its records go, producer 7's stay.
    expect(offsetsOf(records, 0, [{ producerId: 8n, firstOffset: 2 }])).toEqual({
      offsets: [0, 1, 6, 7, 9],
      next: 10,
    })
    // A non-transactional batch of the same producer id is never dropped.
    const loose = Buffer.concat([batch(0, ['x'], { producerId: 7n }), marker(1, 7n, 'abort')])
    expect(offsetsOf(loose, 0, [{ producerId: 7n, firstOffset: 0 }])).toEqual({ offsets: [0], next: 2 })
  })

  it('read_committed: an ABORT marker below `from` still ends the transaction', () => {
    const TXN = 0x10
    const records = Buffer.concat([
      batch(0, ['p7-aborted-0', 'p7-aborted-1'], { attributes: TXN, producerId: 7n }),
      marker(2, 7n, 'abort'),
      batch(3, ['p7-next-3'], { attributes: TXN, producerId: 7n }),
    ])
    expect(offsetsOf(records, 3, [{ producerId: 7n, firstOffset: 0 }])).toEqual({ offsets: [3], next: 4 })
  })

  it('a batch that does not decode goes to `undecodable` (or throws without it); the walk moves on', () => {
    for (const [codec, name] of [
      [2, 'snappy'],
      [3, 'lz4'],
      [4, 'zstd'],
      [5, 'codec 5'],
    ] as const) {
      const records = Buffer.concat([
        batch(0, ['ok']),
        batch(1, ['not', 'compressed'], { attributes: codec }),
        batch(3, ['after']),
      ])
      const error = gameErrorOf(() => forEachRecord(records, 0, () => {}))
      expect(error.code).toBe('CORRUPT_RECORDS')
      expect(error.message).toContain(name)
      expect(error.message).toContain('offsets 1-2')
      const seen: number[] = []
      const bad: string[] = []
      const next = forEachRecord(
        records,
        0,
        (offset) => seen.push(offset),
        null,
        (first, last, reason) => bad.push(`${first}-${last} ${reason}`),
      )
      expect(seen).toEqual([0, 3])
      expect(bad).toHaveLength(1)
      expect(bad[0]).toMatch(new RegExp(`^1-2 .*${name}`))
      expect(next).toBe(4)
      // The headers alone still give the next offset.
      expect(nextFetchOffset(records, 0)).toBe(4)
    }
  })

  it('checks each batch CRC-32C: a flipped byte is undecodable, not landed', () => {
    const good = batch(0, ['{"amount":5}', 'b', 'c'])
    const flipped = Buffer.from(good)
    const at = flipped.indexOf(Buffer.from('5'))
    flipped[at] = '9'.charCodeAt(0)
    const records = Buffer.concat([flipped, batch(3, ['d'])])
    expect(gameErrorOf(() => forEachRecord(records, 0, () => {})).message).toContain('CRC-32C mismatch')
    const bad: string[] = []
    const { rows } = { rows: [] as number[] }
    forEachRecord(
      records,
      1,
      (o) => rows.push(o),
      null,
      (f, l, r) => bad.push(`${f}-${l} ${r}`),
    )
    // From offset 1: the range starts at the first offset asked for.
    expect(rows).toEqual([3])
    expect(bad).toEqual(['1-2 CRC-32C mismatch'])
  })

  it('records that stop parsing midway: the records before are visited, the rest reported once', () => {
    const b = batch(10, ['a', 'b', 'c'])
    b.writeInt32BE(4, 57) // one record more than it holds
    fixCrc(b)
    const seen: number[] = []
    const bad: string[] = []
    forEachRecord(
      b,
      0,
      (o) => seen.push(o),
      null,
      (f, l) => bad.push(`${f}-${l}`),
    )
    expect(seen).toEqual([10, 11, 12])
    // lastOffsetDelta says 12, so nothing is left to report past the visited records.
    expect(bad).toEqual([])
    const c = batch(20, ['a', 'b', 'c'])
    const at = c.indexOf(Buffer.from('b')) - 1
    c[at] = 80 // value length 40: runs past its record
    fixCrc(c)
    seen.length = 0
    forEachRecord(
      c,
      0,
      (o) => seen.push(o),
      null,
      (f, l, r) => bad.push(`${f}-${l} ${r}`),
    )
    expect(seen).toEqual([20])
    expect(bad).toEqual(['21-22 value length 40 at offset 21'])
  })

  it('a truncated batch at the end is ignored: the return value is the offset after the last complete batch', () => {
    const first = batch(0, ['a', 'b'])
    const second = batch(2, ['c', 'd', 'e'])
    const records = Buffer.concat([first, second])
    for (const cut of [first.length, first.length + 10, first.length + 61, records.length - 1]) {
      const part = records.subarray(0, cut)
      expect(offsetsOf(part, 0)).toEqual({ offsets: [0, 1], next: 2 })
      expect(nextFetchOffset(part, 0)).toBe(2)
    }
    // Nothing complete: the position stays.
    expect(offsetsOf(records.subarray(0, first.length - 1), 0)).toEqual({ offsets: [], next: 0 })
    expect(offsetsOf(Buffer.alloc(0), 17)).toEqual({ offsets: [], next: 17 })
  })

  it('a batch length below the header size fails with CORRUPT_RECORDS', () => {
    const records = Buffer.concat([batch(0, ['a']), batch(1, ['b'])])
    records.writeInt32BE(3, batch(0, ['a']).length + 8)
    const error = gameErrorOf(() => forEachRecord(records, 0, () => {}))
    expect(error.code).toBe('CORRUPT_RECORDS')
    expect(error.hint).toBeTruthy()
  })

  it('a message format other than v2 fails with CORRUPT_RECORDS', () => {
    for (const magic of [0, 1, 3]) {
      const b = batch(0, ['a'])
      b.writeInt8(magic, 16)
      expect(gameErrorOf(() => forEachRecord(b, 0, () => {})).code).toBe('CORRUPT_RECORDS')
    }
  })

  it('records that run past their batch fail with CORRUPT_RECORDS', () => {
    // One record more than the batch holds.
    const more = batch(0, ['a', 'b'])
    more.writeInt32BE(3, 57)
    fixCrc(more)
    expect(gameErrorOf(() => forEachRecord(more, 0, () => {})).code).toBe('CORRUPT_RECORDS')
    // A value longer than its record.
    const long = batch(0, ['abc'])
    const at = long.indexOf(Buffer.from('abc')) - 1
    long[at] = 40 // zig-zag 20
    fixCrc(long)
    expect(gameErrorOf(() => forEachRecord(long, 0, () => {})).code).toBe('CORRUPT_RECORDS')
  })
})
