import { GameError } from '../errors.js'
import {
  BATCH_HEADER_SIZE,
  batchAttributes,
  batchBaseOffset,
  batchBaseTimestamp,
  batchCompression,
  batchCrc,
  batchLastOffsetDelta,
  batchLength,
  batchMagic,
  batchMaxTimestamp,
  batchProducerId,
  batchRecordCount,
  batchSize,
  MAGIC_V2,
} from '../protocol/batch.js'
import { crc32c } from '../protocol/crc32c.js'
import { isRetriable } from '../protocol/errors.js'
import { Reader, Writer } from '../protocol/primitives.js'
import { batchRecords, CODEC_NAMES, type RecordCursor, readVarint } from '../protocol/records.js'
import { type Message, ZERO_UUID } from '../protocol/schema.js'
import { ConnectionPool, KafkaRequestError, NETWORK, refused, requestMetadata } from './wire.js'

/**
 * A lean Kafka fetcher for the stream's hot path: standard Fetch v4 (read_committed) and
 * ListOffsets v1 to any broker (the embedded one or Apache Kafka 0.11 through 4.x), one request per
 * partition leader, and a record walker that hands each record's value to the caller as a view into
 * the response (no Buffer, object or BigInt per record; kafkajs decodes every record into an object
 * with string offsets, which was most of the stream's consume cost).
 *
 * Group membership is not here: the stream keeps a kafkajs consumer for the consumer-group protocol
 * (join, sync, heartbeats, offset commits) and fetches the partitions it is assigned with this.
 *
 * Record batches: magic 2, any codec (gzip, snappy, lz4, zstd: protocol/records.ts), CRC-32C
 * checked as the Java client does; a batch that does not decode goes to the caller's onUndecodable
 * (see forEachRecord) instead of stopping the walk. Control batches are skipped and
 * batches of aborted transactions are left out (read_committed), as Kafka's consumer does.
 */
export interface LeanFetcherOptions {
  /** Bootstrap servers, host:port. */
  brokers: string[]
  topic: string
  clientId?: string
  /** Long-poll: how long the broker may wait for minBytes. Default 200 ms. */
  maxWaitMs?: number
  /** Most bytes per fetch response. Default 8 MB. */
  maxBytes?: number
  /** Most bytes per partition in a response (a first batch larger than this still comes whole). Default 2 MB. */
  partitionMaxBytes?: number
  connectTimeoutMs?: number
  /** Default 30 s (a long-poll is far shorter). */
  requestTimeoutMs?: number
}

/** One partition's part of a fetch response. */
export interface FetchedPartition {
  partition: number
  /** Kafka error code (0 = none), or NETWORK (-100) when the leader's request failed. */
  errorCode: number
  /** The offset the request asked for. */
  fetchOffset: number
  highWatermark: number
  /** The record batches (a view into the response), null on error. */
  records: Buffer | null
  /** read_committed: transactions aborted in the fetched range. */
  aborted: AbortedTransaction[] | null
  /** Set with NETWORK or an error code: what failed. */
  error?: Error
}

export interface AbortedTransaction {
  producerId: bigint
  firstOffset: number
}

/**
 * Called once per record at or past `from`: `value` is bytes [start, end) of `buf` (start = -1 for
 * a null value); `buf` is only valid during the call.
 */
export type RecordVisitor = (
  offset: number,
  timestamp: number,
  buf: Buffer,
  start: number,
  end: number,
) => void

export interface LeanFetcher {
  /** One fetch round: a Fetch to each leader of the given partitions (positions: partition → offset). */
  fetch(positions: ReadonlyMap<number, number>): Promise<FetchedPartition[]>
  /** Earliest (log start) or latest (high watermark) offsets. */
  listOffsets(partitions: readonly number[], which: 'earliest' | 'latest'): Promise<Map<number, number>>
  /** The topic's id (Metadata v10+; undefined when the broker has none): a recreated topic has a new one. */
  topicId(): Promise<string | undefined>
  /** Forgets the leaders; the next call asks for metadata again. */
  invalidate(): void
  close(): void
}

const API_FETCH = 1
const API_LIST_OFFSETS = 2
/** Fetch versions this hand-written codec speaks (4: the lowest Kafka 4.x serves). */
export const FETCH_VERSIONS = [4, 12] as const
/** Fetch v12 is flexible; v13 names topics by id, which this codec does not speak. */
const FETCH_FLEXIBLE = 12
const LIST_OFFSETS_VERSIONS = [1, 8] as const

/** Fetch request v4..v11 for one topic (no fetch session: session id 0, epoch -1). */
export function encodeFetchRequest(
  w: Writer,
  version: number,
  o: { maxWaitMs: number; maxBytes: number; partitionMaxBytes: number; isolationLevel: number },
  topic: string,
  partitions: readonly number[],
  offsetOf: (p: number) => number,
): Writer {
  const flexible = version >= FETCH_FLEXIBLE
  w.int32(-1).int32(o.maxWaitMs).int32(1).int32(o.maxBytes).int8(o.isolationLevel)
  if (version >= 7) w.int32(0).int32(-1) // session_id, session_epoch
  if (flexible)
    w.uvarint(2)
      .compactString(topic)
      .uvarint(partitions.length + 1)
  else w.int32(1).string(topic).int32(partitions.length)
  for (const p of partitions) {
    w.int32(p)
    if (version >= 9) w.int32(-1) // current_leader_epoch
    w.int64(BigInt(offsetOf(p)))
    if (version >= 12) w.int32(-1) // last_fetched_epoch
    if (version >= 5) w.int64(-1n) // log_start_offset (consumers send -1)
    w.int32(o.partitionMaxBytes)
    if (flexible) w.emptyTaggedFields()
  }
  if (flexible) {
    w.emptyTaggedFields() // end of the topic
    w.uvarint(1) // forgotten_topics_data: none
    w.compactString('') // rack_id
    w.emptyTaggedFields()
  } else {
    if (version >= 7) w.int32(0) // forgotten_topics_data
    if (version >= 11) w.string('') // rack_id
  }
  return w
}

export interface FetchResponsePartition {
  topic: string
  partition: number
  errorCode: number
  highWatermark: number
  aborted: { producerId: bigint; firstOffset: number }[] | null
  records: Buffer | null
}

/** Fetch response v4..v11; returns the top-level error code (v7+, else 0). */
export function decodeFetchResponse(
  version: number,
  r: Reader,
  each: (p: FetchResponsePartition) => void,
): number {
  const flexible = version >= FETCH_FLEXIBLE
  r.int32() // throttle_time_ms
  let top = 0
  if (version >= 7) {
    top = r.int16()
    r.int32() // session_id
  }
  const array = flexible ? r.compactArray.bind(r) : r.array.bind(r)
  array(() => {
    const topic = flexible ? r.compactString() : r.string()
    array(() => {
      const partition = r.int32()
      const errorCode = r.int16()
      const highWatermark = Number(r.int64())
      r.int64() // last_stable_offset
      if (version >= 5) r.int64() // log_start_offset
      const abortedTxn = (r: Reader) => {
        const a = { producerId: r.int64(), firstOffset: Number(r.int64()) }
        if (flexible) r.taggedFields()
        return a
      }
      const aborted = flexible ? r.compactNullableArray(abortedTxn) : r.nullableArray(abortedTxn)
      if (version >= 11) r.int32() // preferred_read_replica
      const records = flexible ? r.compactNullableBytes() : r.nullableBytes()
      if (flexible) r.taggedFields() // diverging_epoch, current_leader, snapshot_id
      each({ topic, partition, errorCode, highWatermark, aborted, records })
    })
    if (flexible) r.taggedFields()
  })
  if (flexible) r.taggedFields() // node_endpoints
  return top
}
const READ_COMMITTED = 1
/** byLeader's keys for partitions it cannot route: no leader now, or no such partition id. */
const NO_LEADER = ''
const NO_PARTITION = '?'
const UNKNOWN_TOPIC_OR_PARTITION = 3
const LEADER_NOT_AVAILABLE = 5
const OFFSET_OUT_OF_RANGE = 1

export function createLeanFetcher(options: LeanFetcherOptions): LeanFetcher {
  const { topic } = options
  const clientId = options.clientId ?? 'game-stream'
  const maxWaitMs = options.maxWaitMs ?? 200
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024
  const partitionMaxBytes = options.partitionMaxBytes ?? 2 * 1024 * 1024
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  if (options.brokers.length === 0) throw new Error('no Kafka brokers given')

  const pool = new ConnectionPool(clientId, connectTimeoutMs, requestTimeoutMs, 'fetcher closed')
  const conn = (address: string) => pool.get(address)
  let leaders: { nodes: Map<number, string>; leaders: number[]; topicId?: string } | undefined

  const refresh = async () => {
    let lastError: Error | undefined
    const known = leaders ? [...leaders.nodes.values()] : []
    for (const address of [...new Set([...known, ...options.brokers])]) {
      try {
        const md = await requestMetadata(await conn(address), [topic], false)
        const t = md.topics.find((x) => x.name === topic)
        if (t === undefined || t.error !== 0 || t.leaders.length === 0) {
          const code = t === undefined || t.error === 0 ? 3 : t.error
          throw new KafkaRequestError(
            `metadata for topic ${topic}: Kafka error ${code}`,
            code,
            isRetriable(code),
          )
        }
        leaders = {
          nodes: md.nodes,
          leaders: t.leaders,
          topicId: t.topicId && t.topicId !== ZERO_UUID ? t.topicId : undefined,
        }
        return leaders
      } catch (error) {
        lastError = error as Error
      }
    }
    throw lastError ?? new KafkaRequestError('no broker reachable', NETWORK, true)
  }

  /** partition → leader address (partitions without a leader go under NO_LEADER, ids the topic does not have under NO_PARTITION). */
  const byLeader = async (partitions: Iterable<number>): Promise<Map<string, number[]>> => {
    const md = leaders ?? (await refresh())
    const out = new Map<string, number[]>()
    for (const p of partitions) {
      const leader = md.leaders[p]
      const address = leader === undefined ? NO_PARTITION : (md.nodes.get(leader) ?? NO_LEADER)
      const list = out.get(address)
      if (list) list.push(p)
      else out.set(address, [p])
    }
    return out
  }

  /** Kafka's answers for a partition without a leader (5) and for a partition id the topic does not have (3). */
  const routeError = (address: string, partitions: number[]) =>
    address === NO_PARTITION
      ? new KafkaRequestError(
          `${topic} has no partition ${partitions.join(', ')}`,
          UNKNOWN_TOPIC_OR_PARTITION,
          true,
        )
      : new KafkaRequestError(`a partition of ${topic} has no leader`, LEADER_NOT_AVAILABLE, true)

  const failed = (partition: number, fetchOffset: number, error: Error): FetchedPartition => ({
    partition,
    errorCode: error instanceof KafkaRequestError ? error.errorCode : NETWORK,
    fetchOffset,
    highWatermark: -1,
    records: null,
    aborted: null,
    error,
  })

  const fetchFrom = async (
    address: string,
    partitions: number[],
    positions: ReadonlyMap<number, number>,
  ): Promise<FetchedPartition[]> => {
    if (address === NO_LEADER || address === NO_PARTITION) {
      leaders = undefined
      const e = routeError(address, partitions)
      return partitions.map((p) => failed(p, positions.get(p) ?? 0, e))
    }
    let body: Buffer
    let version: number
    try {
      const c = await conn(address)
      version = c.version(API_FETCH, FETCH_VERSIONS)
      const w = encodeFetchRequest(
        new Writer(64 + partitions.length * 24),
        version,
        { maxWaitMs, maxBytes, partitionMaxBytes, isolationLevel: READ_COMMITTED },
        topic,
        partitions,
        (p) => positions.get(p) ?? 0,
      )
      body = await c.request(API_FETCH, version, w)
    } catch (error) {
      if (!(error instanceof KafkaRequestError)) throw error
      leaders = undefined
      return partitions.map((p) => failed(p, positions.get(p) ?? 0, error as Error))
    }
    const out: FetchedPartition[] = []
    const top = decodeFetchResponse(version, new Reader(body), (f) => {
      if (f.topic !== topic) return
      const fetchOffset = positions.get(f.partition) ?? 0
      if (f.errorCode !== 0) {
        if (f.errorCode !== OFFSET_OUT_OF_RANGE) leaders = undefined
        out.push(failed(f.partition, fetchOffset, refused(address, API_FETCH, version, f.errorCode)))
        return
      }
      out.push({
        partition: f.partition,
        errorCode: 0,
        fetchOffset,
        highWatermark: f.highWatermark,
        records: f.records,
        aborted: f.aborted,
      })
    })
    if (top !== 0) {
      const e = refused(address, API_FETCH, version, top)
      return partitions.map((p) => failed(p, positions.get(p) ?? 0, e))
    }
    return out
  }

  return {
    async fetch(positions) {
      let groups: Map<string, number[]>
      try {
        groups = await byLeader(positions.keys())
      } catch (error) {
        return [...positions].map(([p, o]) => failed(p, o, error as Error))
      }
      const parts = await Promise.all([...groups].map(([address, ps]) => fetchFrom(address, ps, positions)))
      return parts.flat()
    },

    async listOffsets(partitions, which) {
      const groups = await byLeader(partitions)
      const out = new Map<number, number>()
      const time = which === 'earliest' ? -2n : -1n
      for (const [address, ps] of groups) {
        if (address === NO_LEADER || address === NO_PARTITION) {
          leaders = undefined
          throw routeError(address, ps)
        }
        const c = await conn(address)
        const { version, message } = await c.call(API_LIST_OFFSETS, LIST_OFFSETS_VERSIONS, {
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          topics: [
            {
              name: topic,
              partitions: ps.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: time })),
            },
          ],
        })
        for (const t of message.topics as Message[]) {
          if (t.name !== topic) continue
          for (const p of t.partitions as Message[]) {
            if (p.errorCode !== 0) {
              leaders = undefined
              throw refused(address, API_LIST_OFFSETS, version, p.errorCode)
            }
            out.set(p.partitionIndex, Number(p.offset))
          }
        }
      }
      return out
    },

    async topicId() {
      return (await refresh()).topicId
    },

    invalidate() {
      leaders = undefined
    },

    close() {
      pool.close()
    },
  }
}

// ---- record batches (layout: src/lib/broker/log/batch.ts) -------------------------------------

const ATTR_LOG_APPEND_TIME = 0x08
const ATTR_TRANSACTIONAL = 0x10
const ATTR_CONTROL = 0x20

function corrupt(what: string): GameError {
  return new GameError('CORRUPT_RECORDS', `Fetched records are corrupt: ${what}`, {
    hint: 'The broker sent a record batch that does not decode; check the broker and the producer.',
  })
}

/** A batch's last offset, as a number (offsets stay far below 2^53). */
function lastOffsetOf(records: Buffer, at: number): number {
  return Number(batchBaseOffset(records, at)) + batchLastOffsetDelta(records, at)
}

/**
 * The offset after the last complete batch in `records` (`from` if there is none): where the next
 * fetch starts. Reads batch headers only.
 */
export function nextFetchOffset(records: Buffer, from: number): number {
  let next = from
  let at = 0
  while (at + BATCH_HEADER_SIZE <= records.length) {
    const end = at + batchSize(records, at)
    if (end - at < BATCH_HEADER_SIZE || end > records.length) break
    next = Math.max(next, lastOffsetOf(records, at) + 1)
    at = end
  }
  return next
}

/** The producer ids whose transactions are aborted as of a batch, fed in offset order (Kafka's consumer logic). */
class AbortTracker {
  private readonly pending: AbortedTransaction[]
  private readonly active = new Set<bigint>()

  constructor(aborted: readonly AbortedTransaction[]) {
    this.pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset)
  }

  /** Whether a transactional batch [.., lastOffset] of producerId is to be skipped; an abort marker ends the transaction. */
  skip(producerId: bigint, lastOffset: number, isAbortMarker: boolean): boolean {
    while (this.pending.length > 0 && this.pending[0].firstOffset <= lastOffset) {
      this.active.add((this.pending.shift() as AbortedTransaction).producerId)
    }
    if (isAbortMarker) {
      this.active.delete(producerId)
      return false
    }
    return this.active.has(producerId)
  }
}

/**
 * Called for a batch that cannot be decoded (CRC mismatch, corrupt or unknown compression, records
 * that do not parse, an old message format): offsets [first, last] were not visited (first is past
 * any records of the batch already visited), `reason` says why.
 */
export type UndecodableVisitor = (first: number, last: number, reason: string, timestamp: number) => void

/**
 * Walks the record batches of one partition's fetched bytes and calls `visit` for every data record
 * at or past `from` (control records and aborted transactions left out). A partial batch at the end
 * (the response's size limit cut it) is ignored. Returns the offset after the last complete batch.
 *
 * Each batch's CRC-32C is checked (Kafka's check.crcs). A batch that does not decode goes to
 * `undecodable` and the walk carries on with the next one, so it never holds back the records
 * around it; without `undecodable` it throws CORRUPT_RECORDS. Only a batch length too short to
 * find the next batch by always throws.
 */
export function forEachRecord(
  records: Buffer,
  from: number,
  visit: RecordVisitor,
  aborted?: readonly AbortedTransaction[] | null,
  undecodable?: UndecodableVisitor,
): number {
  let next = from
  let at = 0
  const aborts = aborted && aborted.length > 0 ? new AbortTracker(aborted) : undefined
  const progress = { next: 0 }
  while (at + BATCH_HEADER_SIZE <= records.length) {
    const size = batchSize(records, at)
    const end = at + size
    if (size < BATCH_HEADER_SIZE) throw corrupt(`batch length ${batchLength(records, at)} at byte ${at}`)
    if (end > records.length) break
    const batchAt = at
    at = end
    const lastOffset = lastOffsetOf(records, batchAt)
    if (lastOffset + 1 > next) next = lastOffset + 1
    const baseOffset = Number(batchBaseOffset(records, batchAt))
    const magic = batchMagic(records, batchAt)
    const attributes = batchAttributes(records, batchAt)
    const control = (attributes & ATTR_CONTROL) !== 0
    let problem: string | null = null
    if (magic !== MAGIC_V2) {
      problem = `message format v${magic} (only v2, Kafka 0.11+, is read)`
    } else if (aborts && (attributes & ATTR_TRANSACTIONAL) !== 0) {
      // Transaction bookkeeping first, also below `from` (an abort marker there ends a transaction).
      let marker = false
      try {
        marker = control && isAbortMarker(records, batchAt, end)
      } catch (error) {
        if (!(error instanceof GameError)) throw error
        problem = error.message
      }
      if (problem === null && aborts.skip(batchProducerId(records, batchAt), lastOffset, marker)) continue
    }
    if (lastOffset < from) continue
    progress.next = Math.max(from, baseOffset)
    if (problem === null && crc32c(records, batchAt + 21, end) !== batchCrc(records, batchAt)) {
      problem = 'CRC-32C mismatch'
    }
    if (problem === null && control) continue
    if (problem === null)
      problem = walkRecords(records, batchAt, end, baseOffset, attributes, from, visit, progress)
    if (problem === null) continue
    const what = `batch at offsets ${baseOffset}-${lastOffset}: ${problem}`
    if (!undecodable) throw corrupt(what)
    if (progress.next <= lastOffset) {
      undecodable(progress.next, lastOffset, problem, Number(batchMaxTimestamp(records, batchAt)))
    }
  }
  return next
}

/**
 * The records of one batch (whole, decoded header fields given) at or past `from`, to `visit`.
 * Returns why the batch does not decode (null when it does); progress.next is then the first
 * offset not visited.
 */
function walkRecords(
  records: Buffer,
  batchAt: number,
  end: number,
  baseOffset: number,
  attributes: number,
  from: number,
  visit: RecordVisitor,
  progress: { next: number },
): string | null {
  let c: RecordCursor | null
  const codec = batchCompression(records, batchAt)
  const codecName = CODEC_NAMES[codec] ?? `codec ${codec}`
  try {
    c = batchRecords(records, batchAt, end)
  } catch (error) {
    return `${codecName} data does not decompress: ${(error as Error).message}`
  }
  if (c === null) return `unknown compression (${codecName})`
  const baseTimestamp = Number(batchBaseTimestamp(records, batchAt))
  const logAppendTime =
    (attributes & ATTR_LOG_APPEND_TIME) !== 0 ? Number(batchMaxTimestamp(records, batchAt)) : -1
  const count = batchRecordCount(records, batchAt)
  try {
    for (let i = 0; i < count; i++) {
      const len = readVarint(c)
      const recordEnd = c.pos + len
      if (len < 0 || recordEnd > c.end) return `record length ${len}`
      c.pos++ // attributes
      const tsDelta = readVarint(c)
      const offset = baseOffset + readVarint(c)
      const keyLen = readVarint(c)
      if (keyLen > 0) c.pos += keyLen
      const valueLen = readVarint(c)
      const start = c.pos
      if (valueLen > 0 && start + valueLen > recordEnd) return `value length ${valueLen} at offset ${offset}`
      if (offset >= from) {
        if (offset < progress.next) return `offset ${offset} out of order`
        const timestamp = logAppendTime >= 0 ? logAppendTime : baseTimestamp + tsDelta
        if (valueLen < 0) visit(offset, timestamp, c.buf, -1, -1)
        else visit(offset, timestamp, c.buf, start, start + valueLen)
        progress.next = offset + 1
      }
      c.pos = recordEnd // headers are not read
    }
  } catch (error) {
    if (error instanceof RangeError) return error.message
    throw error
  }
  return null
}

/** A control batch's first record key: version int16, type int16 (0 = ABORT, 1 = COMMIT). */
function isAbortMarker(records: Buffer, batchAt: number, end: number): boolean {
  const c: RecordCursor = { buf: records, pos: batchAt + BATCH_HEADER_SIZE, end }
  try {
    readVarint(c) // length
    c.pos++ // attributes
    readVarint(c) // timestamp delta
    readVarint(c) // offset delta
    const keyLen = readVarint(c)
    if (keyLen < 4 || c.pos + 4 > end) return false
    return records.readInt16BE(c.pos + 2) === 0
  } catch (error) {
    if (error instanceof RangeError) throw corrupt(`control batch at byte ${batchAt}: ${error.message}`)
    throw error
  }
}
