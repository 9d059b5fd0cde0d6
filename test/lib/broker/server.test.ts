import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { isGameError } from '../../../src/lib/errors.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { Writer } from '../../../src/lib/protocol/primitives.js'
import { type TestBroker, testBroker } from './helpers.js'
import { RawClient, recordBatch } from './raw-client.js'

describe('startBroker', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await testBroker({ storage: 'memory' })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('rejects a port in use with PORT_IN_USE naming the port and --kafka-port', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-broker-port-'))
    try {
      const error = await startBroker({ port: t.broker.port, dataDir, storage: 'memory' }).catch(
        (e: unknown) => e,
      )
      expect(isGameError(error)).toBe(true)
      if (!isGameError(error)) return
      expect(error.code).toBe('PORT_IN_USE')
      expect(error.exitCode).toBe(1)
      expect(error.message).toContain(String(t.broker.port))
      expect(error.hint).toContain('--kafka-port')
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('rejects unusable storage with BROKER_STORAGE_FAILED', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-broker-file-'))
    try {
      const file = path.join(dir, 'not-a-dir')
      await writeFile(file, 'x')
      const error = await startBroker({ port: 0, dataDir: file }).catch((e: unknown) => e)
      expect(isGameError(error) && error.code).toBe('BROKER_STORAGE_FAILED')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('auto-creates a topic once when many clients ask for it at the same time', async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(t.broker.port)))
    const body = new Writer().int32(1).string('raced').bool(true).toBuffer()
    const replies = await Promise.all(clients.map((c) => c.request(3, 4, body)))
    for (const r of replies) {
      r.int32() // throttle
      r.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()])
      r.nullableString()
      r.int32()
      const topics = r.array((r) => ({
        error: r.int16(),
        name: r.string(),
        internal: r.bool(),
        partitions: r.array((r) => [
          r.int16(),
          r.int32(),
          r.int32(),
          r.array((r) => r.int32()),
          r.array((r) => r.int32()),
        ]),
      }))
      expect(topics).toHaveLength(1)
      expect(topics[0]).toMatchObject({ error: 0, name: 'raced' })
      expect(topics[0].partitions).toHaveLength(3)
    }
    for (const c of clients) c.close()
  })

  it('counts connections, requests and bytes', async () => {
    const before = t.broker.stats()
    const c = await RawClient.connect(t.broker.port)
    await c.request(18, 2)
    await c.request(3, 6, Buffer.from([0xff, 0xff, 0xff, 0xff, 0]))
    const during = t.broker.stats()
    expect(during.connectionsTotal).toBe(before.connectionsTotal + 1)
    expect(during.connections).toBeGreaterThanOrEqual(1)
    expect(during.requests.ApiVersions).toBe((before.requests.ApiVersions ?? 0) + 1)
    expect(during.requests.Metadata).toBe((before.requests.Metadata ?? 0) + 1)
    expect(during.bytesIn).toBeGreaterThan(before.bytesIn)
    expect(during.bytesOut).toBeGreaterThan(before.bytesOut)
    c.close()
    await c.closed
  })

  it('answers 500 pipelined requests in order on one connection (reading pauses and resumes)', async () => {
    const c = await RawClient.connect(t.broker.port)
    const all = Buffer.from([0xff, 0xff, 0xff, 0xff])
    // RawClient rejects a reply whose correlation id is not the next one sent.
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? c.request(18, 1) : c.request(3, 1, all))),
    )
    expect(replies).toHaveLength(500)
    expect(replies[1].int16()).toBe(0)
    c.close()
  })

  it('pipelines produce requests on one connection: offsets and answers in request order', async () => {
    const c = await RawClient.connect(t.broker.port)
    await c.request(3, 6, new Writer().int32(1).string('pipe').bool(true).toBuffer())
    const produce = (values: string[], acks = -1) =>
      new Writer()
        .nullableString(null)
        .int16(acks)
        .int32(30_000)
        .int32(1)
        .string('pipe')
        .int32(1)
        .int32(0)
        .bytes(recordBatch(values, crc32c))
        .toBuffer()
    const corrupt = recordBatch(['bad'], crc32c)
    corrupt[corrupt.length - 1] ^= 0xff
    const bad = new Writer()
      .nullableString(null)
      .int16(-1)
      .int32(1000)
      .int32(1)
      .string('pipe')
      .int32(1)
      .int32(0)
      .bytes(corrupt)
      .toBuffer()
    const sizes = [3, 1, 5, 2, 4, 0, 7, 1]
    const replies = await Promise.all(
      sizes.map((n, i) =>
        c.request(0, 7, n === 0 ? bad : produce(Array.from({ length: n }, (_, j) => `${i}-${j}`))),
      ),
    )
    const results = replies.map((r) => {
      r.int32()
      r.string()
      r.int32()
      r.int32()
      return { error: r.int16(), base: r.int64() }
    })
    let expected = 0n
    for (const [i, n] of sizes.entries()) {
      if (n === 0) {
        expect(results[i]).toEqual({ error: 2, base: -1n })
        continue
      }
      expect(results[i]).toEqual({ error: 0, base: expected })
      expected += BigInt(n)
    }
    // acks=0 gets no answer; the next request is answered next and sees the appended records.
    c.send(0, 7, produce(['z1', 'z2'], 0))
    const lo = await c.request(
      2,
      3,
      new Writer().int32(-1).int8(0).int32(1).string('pipe').int32(1).int32(0).int64(-1n).toBuffer(),
    )
    lo.int32()
    lo.int32()
    lo.string()
    lo.int32()
    expect([lo.int32(), lo.int16(), lo.int64(), lo.int64()]).toEqual([0, 0, -1n, expected + 2n])
    c.close()
  })

  it('close() ends parked fetches and open connections', async () => {
    const local = await testBroker({ storage: 'memory' })
    const c = await RawClient.connect(local.broker.port)
    await c.request(3, 6, Buffer.from([0, 0, 0, 1, 0, 4, 0x70, 0x61, 0x72, 0x6b, 1]))
    const started = Date.now()
    const fetch = c.request(
      1,
      4,
      Buffer.from([
        ...[0xff, 0xff, 0xff, 0xff],
        ...[0, 0, 0x75, 0x30], // max wait 30 s
        ...[0, 0, 0, 1],
        ...[0, 0xa0, 0, 0],
        0,
        ...[0, 0, 0, 1, 0, 4, 0x70, 0x61, 0x72, 0x6b],
        ...[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0],
      ]),
    )
    const outcome = fetch.then(
      () => 'answered',
      (e: Error) => e.message,
    )
    await new Promise((r) => setImmediate(r))
    await local.close()
    expect(await outcome).toBe('connection closed')
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
