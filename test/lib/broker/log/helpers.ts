/** Test helpers: real RecordBatches from kafkajs's own encoder/decoder, temp dirs. */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'vitest'
import { type DurableLogManager, LogError, openLogManager } from '../../../../src/lib/broker/log/index.js'
import type { LogManagerOptions, PartitionLog } from '../../../../src/lib/broker/log/types.js'

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (o: Record<string, unknown>) => Promise<{ buffer: Buffer }>
}
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  o: Record<string, unknown>,
) => unknown
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  firstOffset: string
  records: { offset: string; value: Buffer | null; key: Buffer | null }[]
}>
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  b: Buffer,
) => {
  canReadInt64(): boolean
  offset: number
}
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: { None: number; GZIP: number }
}

export { Compression }

export interface BatchSpec {
  /** Record values (strings); one record each. */
  values: string[]
  /** CreateTime of every record (ms). */
  timestamp?: number
  compression?: number
}

/** A RecordBatch v2 exactly as kafkajs's producer builds it (baseOffset 0). */
export async function makeBatch(spec: BatchSpec): Promise<Buffer> {
  const ts = spec.timestamp ?? Date.now()
  const records = spec.values.map((v, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: 0,
      key: Buffer.from(`k${i}`),
      value: Buffer.from(v),
      headers: {},
    }),
  )
  const enc = await RecordBatch({
    records,
    compression: spec.compression ?? Compression.None,
    firstTimestamp: ts,
    maxTimestamp: ts,
    lastOffsetDelta: spec.values.length - 1,
  })
  return Buffer.from(enc.buffer)
}

/** `n` values "prefix-<i>" padded to `size` bytes. */
export function values(prefix: string, from: number, n: number, size = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`.padEnd(size, '.'))
}

/** Decodes fetched bytes (whole batches) with kafkajs; returns every record's offset and value. */
export async function decodeRecords(buf: Buffer): Promise<{ offset: bigint; value: string }[]> {
  const out: { offset: bigint; value: string }[] = []
  let pos = 0
  while (pos < buf.length) {
    const size = 12 + buf.readInt32BE(pos + 8)
    const batch = await decodeBatch(new Decoder(buf.subarray(pos, pos + size)))
    for (const r of batch.records) out.push({ offset: BigInt(r.offset), value: r.value?.toString() ?? '' })
    pos += size
  }
  return out
}

/** Base offsets of the whole batches in `buf`. */
export function batchBases(buf: Buffer): bigint[] {
  const out: bigint[] = []
  for (let pos = 0; pos < buf.length; pos += 12 + buf.readInt32BE(pos + 8)) out.push(buf.readBigInt64BE(pos))
  return out
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-log-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export async function open(dir: string, extra: Partial<LogManagerOptions> = {}): Promise<DurableLogManager> {
  return openLogManager({ dataDir: dir, fsync: 'always', retentionCheckIntervalMs: 0, ...extra })
}

export async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return err instanceof LogError ? err.code : `not a LogError: ${err}`
  }
  return undefined
}

/** Appends `n` batches of `per` records ("v-<offset>" values, padded), returns base offsets. */
export async function fill(log: PartitionLog, n: number, per: number, pad = 0, ts?: (i: number) => number) {
  const bases: bigint[] = []
  for (let i = 0; i < n; i++) {
    const first = Number(log.highWatermark())
    const b = await makeBatch({ values: values('v', first, per, pad), timestamp: ts?.(i) })
    bases.push((await log.append(b)).baseOffset)
  }
  return bases
}

/** Reads the whole partition from `from` with repeated fetches of maxBytes. */
export async function readAll(log: PartitionLog, from: bigint, maxBytes = 64 * 1024) {
  const out: { offset: bigint; value: string }[] = []
  let next = from
  while (next < log.highWatermark()) {
    const { records } = await log.read(next, maxBytes)
    expect(records.length).toBeGreaterThan(0)
    const recs = (await decodeRecords(records)).filter((r) => r.offset >= next)
    out.push(...recs)
    next = recs[recs.length - 1].offset + 1n
  }
  return out
}

export function segmentFiles(dir: string, ext: string) {
  return readdir(dir).then((names) => names.filter((n) => n.endsWith(ext)).sort())
}
