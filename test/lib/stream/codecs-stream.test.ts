import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { CompressionCodecs, CompressionTypes } from 'kafkajs'
import { compress as lz4Compress } from 'lz4js'
import { compress as snappyCompress } from 'snappyjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { streamStatus } from '../../../src/lib/stream/status.js'
import { type StreamOptions, streamToLake } from '../../../src/lib/stream/stream.js'
import { readTable, type Stack, startStack } from './fixtures.js'

/**
 * Compressed batches produced by a real client (kafkajs, whose pluggable codecs are given real
 * compressors here: snappyjs with xerial framing as the Java client writes it, lz4js frames, the
 * zstd CLI), and a poison pill: a batch whose compressed bytes are garbage (valid CRC).
 */
const xerial = (plain: Buffer): Buffer => {
  const block = Buffer.from(snappyCompress(plain))
  const len = Buffer.alloc(4)
  len.writeInt32BE(block.length)
  return Buffer.concat([
    Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]),
    len,
    block,
  ])
}
const codec = (compress: (b: Buffer) => Buffer) => () => ({
  compress: async (encoder: { buffer: Buffer }) => compress(encoder.buffer),
  decompress: async () => {
    throw new Error('not used')
  },
})
const codecs = CompressionCodecs as Record<number, unknown>
let garbageLz4 = false
codecs[CompressionTypes.Snappy] = codec(xerial)
codecs[CompressionTypes.LZ4] = codec((b) =>
  garbageLz4 ? Buffer.alloc(b.length, 0xa5) : Buffer.from(lz4Compress(b)),
)
codecs[CompressionTypes.ZSTD] = codec((b) => execFileSync('zstd', ['-c', '-q'], { input: b }))

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.close()
})

const lakeOf = (topic: string) => openLake(`${stack.lakeUrl}/${topic}`, { hdfsUser: 'game' })
const base = (topic: string): StreamOptions => ({
  topic,
  group: `g-${topic}`,
  intervalMs: 60_000,
  maxRows: 100_000,
  maxBytes: 64 * 1024 * 1024,
  once: true,
  fromBeginning: true,
  stagingGraceMs: 0,
  brokers: stack.brokers,
})
const money = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    value: JSON.stringify({
      event_type: 'add_money',
      Host: `${tag}.example`,
      amount: i + 1,
      description: tag,
    }),
  }))

async function send(topic: string, partition: number, compression: CompressionTypes, tag: string, n = 5) {
  const producer = stack.kafka('codec-producer').producer()
  await producer.connect()
  await producer.send({
    topic,
    acks: -1,
    compression,
    messages: money(tag, n).map((m) => ({ ...m, partition })),
  })
  await producer.disconnect()
}

describe('the stream and compressed batches', () => {
  it('lands gzip, snappy, lz4 and zstd batches', async () => {
    const topic = 'codecs-all'
    await stack.createTopic(topic, 1)
    const kinds: [CompressionTypes, string][] = [
      [CompressionTypes.None, 'none'],
      [CompressionTypes.GZIP, 'gzip'],
      [CompressionTypes.Snappy, 'snappy'],
      [CompressionTypes.LZ4, 'lz4'],
      [CompressionTypes.ZSTD, 'zstd'],
    ]
    for (const [c, tag] of kinds) await send(topic, 0, c, tag)
    const r = await streamToLake(base(topic), { kafka: stack.kafka('s1'), lake: lakeOf(topic) })
    expect(r.undecodable).toBe(0)
    expect(r.events).toBe(25)
    const rows = await readTable(lakeOf(topic), 'add_money')
    for (const [, tag] of kinds) {
      expect(
        rows.filter((row) => row.description === tag).map((row) => Number(row.amount)),
        tag,
      ).toEqual([1, 2, 3, 4, 5])
    }
  })

  it('an undecodable batch holds back neither another partition nor the records around it; a rerun lands nothing twice', async () => {
    const topic = 'codecs-poison'
    await stack.createTopic(topic, 2)
    await send(topic, 0, CompressionTypes.None, 'p0')
    await send(topic, 1, CompressionTypes.None, 'before')
    garbageLz4 = true
    try {
      await send(topic, 1, CompressionTypes.LZ4, 'garbage')
    } finally {
      garbageLz4 = false
    }
    await send(topic, 1, CompressionTypes.None, 'after')

    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('s1'), lake: lakeOf(topic) })
    expect(r1.stoppedBy).toBe('caught-up')
    expect(r1.undecodable).toBe(1)
    expect(r1.lastUndecodable).toMatch(new RegExp(`^${topic}/1 offsets 5-9: lz4`))
    expect(r1.offsets).toEqual({ '0': '5', '1': '15' })
    const rows = await readTable(lakeOf(topic), 'add_money')
    expect(rows.filter((row) => row.description === 'p0')).toHaveLength(5)
    expect(rows.filter((row) => row.description === 'before')).toHaveLength(5)
    expect(rows.filter((row) => row.description === 'after')).toHaveLength(5)
    expect(rows).toHaveLength(15)
    const rejected = await readTable(lakeOf(topic), 'rejected')
    expect(rejected).toHaveLength(1)
    expect(rejected[0]).toMatchObject({
      kafka_topic: topic,
      kafka_partition: 1n,
      kafka_offset: 5n,
      kafka_offset_last: 9n,
    })
    expect(String(rejected[0].reason)).toMatch(/^undecodable record batch: lz4 data does not decompress/)
    // game stream status counts it from the rejected files.
    const status = await streamStatus({ topic, group: `g-${topic}` }, { lake: lakeOf(topic) })
    expect(status.undecodable?.batches).toBe(1)
    expect(status.undecodable?.lastReason).toMatch(/^undecodable record batch: lz4/)

    // Reruns: nothing new, nothing twice.
    const r2 = await streamToLake(base(topic), { kafka: stack.kafka('s2'), lake: lakeOf(topic) })
    expect(r2.events).toBe(0)
    expect(r2.undecodable).toBe(0)
    await send(topic, 1, CompressionTypes.ZSTD, 'later')
    const r3 = await streamToLake(base(topic), { kafka: stack.kafka('s3'), lake: lakeOf(topic) })
    expect(r3.events).toBe(5)
    expect(await readTable(lakeOf(topic), 'add_money')).toHaveLength(20)
    expect(await readTable(lakeOf(topic), 'rejected')).toHaveLength(1)
  })

  it('a batch changed on disk in a closed segment (CRC-32C mismatch) is rejected; the other partition and the batches after it land', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-codecs-crc-'))
    const broker = await startBroker({
      port: 0,
      dataDir: path.join(dir, 'kafka'),
      defaultTopicConfig: { segmentBytes: 200 },
    })
    try {
      const topic = 'codecs-crc'
      const brokers = [`127.0.0.1:${broker.port}`]
      const kafka = createKafka({ brokers, clientId: 'crc' })
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
      await admin.disconnect()
      const producer = kafka.producer()
      await producer.connect()
      // Partition 0: three batches, each past segmentBytes, so the first segment is closed.
      for (const tag of ['crc-a', 'crc-b', 'crc-c'])
        await producer.send({ topic, acks: -1, messages: money(tag, 2).map((m) => ({ ...m, partition: 0 })) })
      await producer.send({
        topic,
        acks: -1,
        messages: money('crc-p1', 5).map((m) => ({ ...m, partition: 1 })),
      })
      await producer.disconnect()

      const logDir = path.join(dir, 'kafka', `${topic}-0`)
      const logs = (await readdir(logDir)).filter((f) => f.endsWith('.log')).sort()
      expect(logs.length).toBeGreaterThan(1)
      const file = path.join(logDir, logs[0])
      const bytes = await readFile(file)
      const at = bytes.indexOf('crc-a.example')
      expect(at).toBeGreaterThan(0)
      bytes[at + 4] = 'z'.charCodeAt(0) // crc-a → crc-z: the batch's CRC-32C no longer matches
      await writeFile(file, bytes)

      const lake = openLake(`${stack.lakeUrl}/${topic}`, { hdfsUser: 'game' })
      const r = await streamToLake(
        { ...base(topic), brokers },
        { kafka: createKafka({ brokers, clientId: 's' }), lake },
      )
      expect(r.stoppedBy).toBe('caught-up')
      expect(r.undecodable).toBe(1)
      expect(r.offsets).toEqual({ '0': '6', '1': '5' })
      const rows = await readTable(lake, 'add_money')
      expect(rows.map((row) => row.description).sort()).toEqual([
        'crc-b',
        'crc-b',
        'crc-c',
        'crc-c',
        'crc-p1',
        'crc-p1',
        'crc-p1',
        'crc-p1',
        'crc-p1',
      ])
      const rejected = await readTable(lake, 'rejected')
      expect(rejected).toHaveLength(1)
      expect(rejected[0]).toMatchObject({ kafka_partition: 0n, kafka_offset: 0n, kafka_offset_last: 1n })
      expect(String(rejected[0].reason)).toContain('CRC-32C mismatch')
      const status = await streamStatus({ topic, group: `g-${topic}` }, { lake })
      expect(status.undecodable).toEqual({ batches: 1, lastReason: String(rejected[0].reason) })
    } finally {
      await broker.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
