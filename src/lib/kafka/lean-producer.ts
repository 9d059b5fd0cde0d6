import { crc32c } from '../protocol/crc32c.js'
import { isRetriable } from '../protocol/errors.js'
import { partitionForKey } from '../protocol/murmur2.js'
import { Reader, Writer } from '../protocol/primitives.js'
import type { VersionRange } from '../protocol/schema.js'
import {
  type Connection,
  ConnectionPool,
  KafkaRequestError,
  NETWORK,
  refused,
  requestMetadata,
} from './wire.js'

export { KafkaRequestError } from './wire.js'

/**
 * A lean Kafka producer for the API's hot path: encodes RecordBatch v2 itself (no compression, no
 * headers, CRC-32C from the broker's slice-by-8 table) and speaks standard Kafka Produce (v3..v11),
 * Metadata and InitProducerId at the negotiated versions to any broker (the embedded one or Apache
 * Kafka). Keys are partitioned with Kafka's murmur2 exactly as the Java client and kafkajs's
 * DefaultPartitioner do, so one key lands on the same partition whichever producer wrote it. acks
 * is always -1 (all in-sync replicas).
 *
 * Idempotent by default, as Kafka's producer with enable.idempotence (KIP-98): one InitProducerId per
 * producer session, then each partition's batches carry the producer id, an epoch and consecutive
 * sequence numbers, kept across retries. A batch whose ack was lost is sent again and the broker
 * stores it once; a later batch never lands before an earlier one of its partition (the broker
 * refuses a sequence gap). At most 5 sends are in flight (the broker remembers 5 batches per
 * producer and partition). Error handling follows the Java producer's TransactionManager:
 * DUPLICATE_SEQUENCE_NUMBER is an ack; OUT_OF_ORDER_SEQUENCE_NUMBER is retried while an earlier
 * batch of the partition is unacked, else (a real gap) bumps the partition's epoch and renumbers
 * its unacked batches from 0 (KIP-360), as does UNKNOWN_PRODUCER_ID; INVALID_PRODUCER_EPOCH fails
 * the batch and ends the session (the next send gets a new producer id). A batch is never reported
 * as stored without an ack.
 */
export interface LeanProducerOptions {
  /** Bootstrap servers, host:port. */
  brokers: string[]
  clientId?: string
  /** TCP connect timeout. Default 3000 ms. */
  connectTimeoutMs?: number
  /**
   * A request with no answer after this long fails and drops its connection. It also bounds a
   * send: retriable errors (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
   * a lost connection ...) refresh the metadata and are retried with backoff until this long after
   * the send began; then the send fails with the last cause. Default 30 s.
   */
  requestTimeoutMs?: number
  /**
   * Idempotent produce (default true): a producer id from InitProducerId, and per-partition
   * sequence numbers in every batch, so a retried batch is stored once and in order.
   */
  idempotent?: boolean
  /** First retry backoff, doubled per retry up to 1 s. Default 100 ms. */
  retryBackoffMs?: number
  /** Ask the broker to auto-create a missing topic (Metadata allow_auto_topic_creation). Default true. */
  allowAutoTopicCreation?: boolean
}

export interface LeanMessage {
  key: string | null
  value: string | Buffer
}

export interface LeanProducer {
  /** Fetches metadata from a bootstrap broker (sends do this lazily too). */
  connect(): Promise<void>
  /**
   * Produces the messages with acks = -1; resolves once every partition's batch was acked.
   * `timeoutMs` (default 30 s) is the broker's ack timeout and, capped by requestTimeoutMs, how long
   * retriable failures are retried.
   */
  send(topic: string, messages: readonly LeanMessage[], timeoutMs?: number): Promise<void>
  /** Closes every connection; requests in flight fail. */
  disconnect(): Promise<void>
}

const API_PRODUCE = 0
/**
 * Produce versions this hand-written codec speaks: from v3 (RecordBatch v2, the lowest Kafka 4.x
 * serves) to v11, flexible (compact encodings, tagged fields) from v9.
 */
export const PRODUCE_VERSIONS = [3, 11] as const
const PRODUCE_FLEXIBLE = 9

/** Produce request v3..v11 (one topic, acks=-1); v3..v8 share a layout, v9..v11 its compact form. */
export function encodeProduceRequest(
  w: Writer,
  version: number,
  topic: string,
  timeoutMs: number,
  batches: Iterable<[number, Buffer]>,
  count: number,
): Writer {
  if (version < PRODUCE_FLEXIBLE) {
    w.nullableString(null).int16(-1).int32(timeoutMs)
    w.int32(1).string(topic).int32(count)
    for (const [index, batch] of batches) w.int32(index).nullableBytes(batch)
    return w
  }
  w.compactNullableString(null).int16(-1).int32(timeoutMs)
  w.uvarint(2)
    .compactString(topic)
    .uvarint(count + 1)
  for (const [index, batch] of batches) w.int32(index).compactNullableBytes(batch).emptyTaggedFields()
  return w.emptyTaggedFields().emptyTaggedFields()
}

/** Produce response v3..v11: calls `each(topic, partition, errorCode, baseOffset)` per partition. */
export function decodeProduceResponse(
  version: number,
  r: Reader,
  each: (topic: string, partition: number, code: number, baseOffset: bigint) => void,
): void {
  const flexible = version >= PRODUCE_FLEXIBLE
  const array = flexible ? r.compactArray.bind(r) : r.array.bind(r)
  const nullableString = flexible ? () => r.compactNullableString() : () => r.nullableString()
  array(() => {
    const name = flexible ? r.compactString() : r.string()
    array(() => {
      const index = r.int32()
      const code = r.int16()
      const baseOffset = r.int64()
      r.int64() // log_append_time_ms
      if (version >= 5) r.int64() // log_start_offset
      if (version >= 8) {
        array(() => {
          r.int32() // batch_index
          nullableString() // batch_index_error_message
          if (flexible) r.taggedFields()
        })
        nullableString() // error_message
      }
      if (flexible) r.taggedFields() // v10+: current_leader
      each(name, index, code, baseOffset)
    })
    if (flexible) r.taggedFields()
  })
  r.int32() // throttle_time_ms
  if (flexible) r.taggedFields() // v10+: node_endpoints
}

/** Metadata older than this is refreshed before the next send (Kafka's metadata.max.age.ms). */
const METADATA_MAX_AGE_MS = 5 * 60 * 1000

// ---- RecordBatch v2 ---------------------------------------------------------------------------

function varintSize(v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0
  let n = 1
  while (z >= 0x80) {
    z >>>= 7
    n++
  }
  return n
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80
    z >>>= 7
  }
  buf[pos++] = z
  return pos
}

/** The idempotent-producer fields of a RecordBatch v2 header. */
export interface ProducerFields {
  producerId: bigint
  epoch: number
  baseSequence: number
}

const NO_PRODUCER: ProducerFields = { producerId: -1n, epoch: -1, baseSequence: -1 }

/**
 * One uncompressed RecordBatch v2 holding the messages (offsets 0..n-1, one timestamp, no headers),
 * with the producer id, epoch and base sequence given (none by default), CRC-32C filled in.
 */
export function encodeRecordBatch(
  messages: readonly LeanMessage[],
  timestamp: number,
  producer: ProducerFields = NO_PRODUCER,
): Buffer {
  const n = messages.length
  const keyLens = new Array<number>(n)
  const valueLens = new Array<number>(n)
  const bodyLens = new Array<number>(n)
  let total = 61
  for (let i = 0; i < n; i++) {
    const { key, value } = messages[i]
    const kl = key === null ? -1 : typeof key === 'string' ? Buffer.byteLength(key) : 0
    const vl = typeof value === 'string' ? Buffer.byteLength(value) : value.length
    keyLens[i] = kl
    valueLens[i] = vl
    // attributes, timestampDelta 0, offsetDelta, key, value, header count 0
    const body = 1 + 1 + varintSize(i) + varintSize(kl) + Math.max(0, kl) + varintSize(vl) + vl + 1
    bodyLens[i] = body
    total += varintSize(body) + body
  }
  const buf = Buffer.allocUnsafe(total)
  buf.writeBigInt64BE(0n, 0) // baseOffset
  buf.writeInt32BE(total - 12, 8) // batchLength
  buf.writeInt32BE(-1, 12) // partitionLeaderEpoch
  buf.writeInt8(2, 16) // magic
  buf.writeInt16BE(0, 21) // attributes: no compression, create time
  buf.writeInt32BE(n - 1, 23) // lastOffsetDelta
  const ts = BigInt(timestamp)
  buf.writeBigInt64BE(ts, 27) // baseTimestamp
  buf.writeBigInt64BE(ts, 35) // maxTimestamp
  buf.writeBigInt64BE(producer.producerId, 43)
  buf.writeInt16BE(producer.epoch, 51)
  buf.writeInt32BE(producer.baseSequence, 53)
  buf.writeInt32BE(n, 57) // record count
  let pos = 61
  for (let i = 0; i < n; i++) {
    const { key, value } = messages[i]
    pos = writeVarint(buf, pos, bodyLens[i])
    buf[pos++] = 0 // attributes
    buf[pos++] = 0 // timestampDelta 0
    pos = writeVarint(buf, pos, i)
    pos = writeVarint(buf, pos, keyLens[i])
    if (key !== null && keyLens[i] > 0) pos += buf.write(key, pos, 'utf8')
    pos = writeVarint(buf, pos, valueLens[i])
    if (typeof value === 'string') pos += buf.write(value, pos, 'utf8')
    else pos += value.copy(buf, pos)
    buf[pos++] = 0 // headers
  }
  buf.writeUInt32BE(crc32c(buf, 21, total), 17)
  return buf
}

/**
 * A copy of an encoded batch with other producer fields (a rewrite after an epoch bump), CRC
 * recomputed. A copy, because the old buffer may still sit in a socket's write queue.
 */
export function withProducerFields(batch: Buffer, producer: ProducerFields): Buffer {
  const buf = Buffer.from(batch)
  buf.writeBigInt64BE(producer.producerId, 43)
  buf.writeInt16BE(producer.epoch, 51)
  buf.writeInt32BE(producer.baseSequence, 53)
  buf.writeUInt32BE(crc32c(buf, 21, buf.length), 17)
  return buf
}

// ---- the producer -------------------------------------------------------------------------------

interface TopicMeta {
  /** leader node id per partition (-1 = none) */
  leaders: number[]
  /** key → partition, for this partition count */
  keyCache: Map<string, number>
}

interface Metadata {
  nodes: Map<number, string>
  topics: Map<string, TopicMeta>
  /** The error of a topic the last refresh asked for and got no partitions for. */
  errors: Map<string, KafkaRequestError>
  at: number
}

const API_INIT_PRODUCER_ID = 22
const INIT_PRODUCER_ID_VERSIONS: VersionRange = [0, 5]
/** Kafka keeps the last 5 batches per producer and partition for deduplication (max.in.flight ≤ 5). */
export const MAX_IN_FLIGHT = 5
const INT32_MAX = 0x7fffffff
const EPOCH_MAX = 0x7fff
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45
const DUPLICATE_SEQUENCE_NUMBER = 46
const INVALID_PRODUCER_EPOCH = 47
const UNKNOWN_PRODUCER_ID = 59
const REQUEST_TIMED_OUT = 7

/** One partition's batch: keeps its partition and (until an epoch bump) its sequences across retries. */
interface Batch {
  topic: string
  partition: number
  state: PartitionState
  messages: LeanMessage[]
  buffer: Buffer
  epoch: number
  baseSeq: number
  acked: boolean
}

/**
 * A partition's idempotence state (Kafka's TxnPartitionEntry): its epoch (bumped per partition on a
 * sequence gap, KIP-360), the next sequence, the unacked batches in sequence order and the last
 * acknowledged sequence.
 */
interface PartitionState {
  producerId: bigint
  epoch: number
  nextSeq: number
  lastAcked: number
  inflight: Batch[]
  /** A batch ended without an ack (outcome unknown): check the sequence before the next batch. */
  unresolved: boolean
}

const seqAfter = (seq: number, count: number): number => {
  const next = seq + count
  return next > INT32_MAX ? next - INT32_MAX - 1 : next
}

export function createLeanProducer(options: LeanProducerOptions): LeanProducer {
  const clientId = options.clientId ?? 'game'
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  const backoffMs = options.retryBackoffMs ?? 100
  const autoCreate = options.allowAutoTopicCreation ?? true
  const idempotent = options.idempotent ?? true
  if (options.brokers.length === 0) throw new Error('no Kafka brokers given')

  const pool = new ConnectionPool(clientId, connectTimeoutMs, requestTimeoutMs, 'producer disconnected')
  let metadata: Metadata | undefined
  let refreshing: Promise<Metadata> | undefined
  let closed = false
  let rrPartition = 0
  /** The producer id (InitProducerId), asked once per producer session. */
  let session: Promise<bigint> | undefined
  /** `${topic}\0${partition}` → idempotence state of the current session. */
  let partitions = new Map<string, PartitionState>()
  // At most MAX_IN_FLIGHT sends at once, so no partition has more unacked batches than the broker
  // remembers for deduplication.
  let sending = 0
  const slotWaiters: (() => void)[] = []

  const conn = (address: string) => pool.get(address)

  const candidates = () => [...new Set([...(metadata ? metadata.nodes.values() : []), ...options.brokers])]

  const fetchMetadata = async (topics: string[]): Promise<Metadata> => {
    let lastError: Error | undefined
    // Known brokers first (they may have replaced the bootstrap list), then the bootstrap servers.
    for (const address of candidates()) {
      try {
        const md = await requestMetadata(await conn(address), topics, autoCreate)
        const next: Metadata = {
          nodes: md.nodes,
          topics: new Map(metadata?.topics),
          errors: new Map(),
          at: Date.now(),
        }
        for (const { name, error, leaders } of md.topics) {
          if (error === 0 && leaders.length > 0) {
            const old = next.topics.get(name)
            const keyCache = old && old.leaders.length === leaders.length ? old.keyCache : new Map()
            next.topics.set(name, { leaders, keyCache })
          } else {
            next.topics.delete(name)
            const code = error === 0 ? 5 : error
            next.errors.set(
              name,
              new KafkaRequestError(
                `metadata for topic ${name}: Kafka error ${code}`,
                code,
                isRetriable(code),
              ),
            )
          }
        }
        metadata = next
        return next
      } catch (error) {
        lastError = error as Error
      }
    }
    throw lastError ?? new KafkaRequestError('no broker reachable', NETWORK, true)
  }

  const refresh = (topic: string): Promise<Metadata> => {
    if (!refreshing) {
      refreshing = fetchMetadata([topic]).finally(() => {
        refreshing = undefined
      })
    }
    return refreshing
  }

  const topicMeta = async (topic: string, force: boolean): Promise<TopicMeta> => {
    let md = metadata
    if (force || !md || !md.topics.has(topic) || Date.now() - md.at > METADATA_MAX_AGE_MS)
      md = await refresh(topic)
    const t = md.topics.get(topic)
    if (!t) throw md.errors.get(topic) ?? new KafkaRequestError(`topic ${topic} has no metadata yet`, 3, true)
    return t
  }

  const partitionOf = (t: TopicMeta, key: string | null): number => {
    const n = t.leaders.length
    if (key === null) {
      rrPartition = (rrPartition + 1) % n
      return rrPartition
    }
    let p = t.keyCache.get(key)
    if (p === undefined) {
      p = partitionForKey(key, n)
      if (t.keyCache.size >= 10_000) t.keyCache.clear()
      t.keyCache.set(key, p)
    }
    return p
  }

  /** InitProducerId (no transactional id) from any reachable broker, at the negotiated version. */
  const initProducerId = async (): Promise<bigint> => {
    let lastError: Error | undefined
    for (const address of candidates()) {
      let c: Connection
      try {
        c = await conn(address)
      } catch (error) {
        lastError = error as Error
        continue
      }
      const { version, message } = await c.call(API_INIT_PRODUCER_ID, INIT_PRODUCER_ID_VERSIONS, {
        transactionalId: null,
        transactionTimeoutMs: INT32_MAX,
        producerId: -1n,
        producerEpoch: -1,
      })
      if (message.errorCode !== 0) throw refused(address, API_INIT_PRODUCER_ID, version, message.errorCode)
      return message.producerId as bigint
    }
    throw lastError ?? new KafkaRequestError('no broker reachable', NETWORK, true)
  }

  const producerId = (): Promise<bigint> => {
    if (!session) {
      const s = initProducerId()
      session = s
      // A failed attempt is forgotten, so the next send asks again.
      s.catch(() => {
        if (session === s) session = undefined
      })
    }
    return session
  }

  const partitionState = (topic: string, partition: number, id: bigint): PartitionState => {
    const k = `${topic}\0${partition}`
    let st = partitions.get(k)
    if (!st || st.producerId !== id) {
      st = { producerId: id, epoch: 0, nextSeq: 0, lastAcked: -1, inflight: [], unresolved: false }
      partitions.set(k, st)
    }
    return st
  }

  /**
   * Kafka's epoch bump for one partition (KIP-360): the next epoch, and the unacked batches
   * renumbered from sequence 0, so the broker accepts them after a gap or a lost producer state.
   */
  const bumpEpoch = (st: PartitionState): void => {
    if (st.epoch >= EPOCH_MAX) {
      // No epoch left: this session ends; the next send asks for a new producer id.
      session = undefined
      partitions = new Map()
      throw new KafkaRequestError(
        `producer ${st.producerId} ran out of epochs`,
        INVALID_PRODUCER_EPOCH,
        false,
      )
    }
    st.epoch++
    st.lastAcked = -1
    st.unresolved = false
    let seq = 0
    for (const b of st.inflight) {
      b.epoch = st.epoch
      b.baseSeq = seq
      b.buffer = withProducerFields(b.buffer, {
        producerId: st.producerId,
        epoch: st.epoch,
        baseSequence: seq,
      })
      seq = seqAfter(seq, b.messages.length)
    }
    st.nextSeq = seq
  }

  const newBatch = (
    topic: string,
    partition: number,
    messages: LeanMessage[],
    id: bigint | undefined,
  ): Batch => {
    const now = Date.now()
    if (id === undefined) {
      const state = partitionState(topic, partition, -1n)
      return {
        topic,
        partition,
        state,
        messages,
        buffer: encodeRecordBatch(messages, now),
        epoch: -1,
        baseSeq: -1,
        acked: false,
      }
    }
    const st = partitionState(topic, partition, id)
    // A batch that ended without an ack left a gap unless the ones after it were acked (Kafka's
    // maybeResolveSequences): then bump the epoch before numbering this one.
    if (st.unresolved && st.inflight.length === 0) {
      if (seqAfter(st.lastAcked, 1) === st.nextSeq) st.unresolved = false
      else bumpEpoch(st)
    }
    const baseSeq = st.nextSeq
    const buffer = encodeRecordBatch(messages, now, {
      producerId: id,
      epoch: st.epoch,
      baseSequence: baseSeq,
    })
    const b: Batch = { topic, partition, state: st, messages, buffer, epoch: st.epoch, baseSeq, acked: false }
    st.nextSeq = seqAfter(baseSeq, messages.length)
    st.inflight.push(b)
    return b
  }

  const acked = (b: Batch): void => {
    b.acked = true
    const st = b.state
    const i = st.inflight.indexOf(b)
    if (i >= 0) st.inflight.splice(i, 1)
    // The broker appends a partition's batches in sequence order, so acks come in that order.
    if (b.epoch === st.epoch && b.baseSeq >= 0) st.lastAcked = seqAfter(b.baseSeq, b.messages.length - 1)
  }

  /** A batch given up on: its sequence may be a gap now. */
  const abandoned = (b: Batch): void => {
    const st = b.state
    const i = st.inflight.indexOf(b)
    if (i >= 0) st.inflight.splice(i, 1)
    if (b.baseSeq >= 0) st.unresolved = true
  }

  type Outcome = 'acked' | 'retry' | Error

  /** What to do with a batch after the broker's answer (Kafka's Sender/TransactionManager rules). */
  const judge = (b: Batch, sentEpoch: number, code: number, error: () => KafkaRequestError): Outcome => {
    // DUPLICATE_SEQUENCE_NUMBER: the broker already has this batch but no longer its offset.
    if (code === 0 || code === DUPLICATE_SEQUENCE_NUMBER) return 'acked'
    // Renumbered (an epoch bump) while this attempt was on the way: send the new numbering.
    if (b.epoch !== sentEpoch) return 'retry'
    const st = b.state
    if (code === OUT_OF_ORDER_SEQUENCE_NUMBER) {
      // An earlier batch of this partition is still unacked: it failed too and will be sent again
      // first. Otherwise there is a real gap: bump the epoch and renumber.
      if (st.inflight[0] !== b) return 'retry'
      bumpEpoch(st)
      return 'retry'
    }
    if (code === UNKNOWN_PRODUCER_ID) {
      // The broker lost this producer's state (e.g. retention removed its batches): bump and renumber.
      bumpEpoch(st)
      return 'retry'
    }
    const e = error()
    if (code === INVALID_PRODUCER_EPOCH) {
      // Fenced by a newer epoch of this producer id: this session ends; later sends get a new id.
      if (session && st.producerId >= 0n) {
        session = undefined
        partitions = new Map()
      }
      return e
    }
    return e.retriable ? 'retry' : e
  }

  /** Rejects after `ms` unless `p` settles first. */
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new KafkaRequestError(`${what}: no answer before the send timed out`, REQUEST_TIMED_OUT, true),
          ),
        Math.max(0, ms),
      )
      p.then(
        (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        (e) => {
          clearTimeout(timer)
          reject(e)
        },
      )
    })

  /**
   * One produce request to one leader. Returns the batches to send again, the last retriable error
   * and the first fatal one.
   */
  const produceTo = async (
    address: string,
    batches: Batch[],
    timeoutMs: number,
    deadline: number,
  ): Promise<{ retry: Batch[]; error?: Error; fatal?: Error }> => {
    const topic = batches[0].topic
    const sentEpochs = batches.map((b) => b.epoch)
    const entries: [number, Buffer][] = batches.map((b) => [b.partition, b.buffer])
    let body: Buffer
    let version: number
    try {
      const c = await within(conn(address), deadline - Date.now(), `connect to ${address}`)
      version = c.version(API_PRODUCE, PRODUCE_VERSIONS)
      const w = encodeProduceRequest(new Writer(128), version, topic, timeoutMs, entries, entries.length)
      body = await within(c.request(API_PRODUCE, version, w), deadline - Date.now(), `produce to ${address}`)
    } catch (error) {
      if (!(error instanceof KafkaRequestError)) throw error
      return { retry: batches, error }
    }
    const retry: Batch[] = []
    let retriableError: Error | undefined
    let fatal: Error | undefined
    const seen = new Set<number>()
    decodeProduceResponse(version, new Reader(body), (name, index, code) => {
      if (name !== topic) return
      const i = batches.findIndex((b) => b.partition === index)
      if (i < 0 || seen.has(i)) return
      seen.add(i)
      const b = batches[i]
      const outcome = judge(b, sentEpochs[i], code, () => refused(address, API_PRODUCE, version, code))
      if (outcome === 'acked') acked(b)
      else if (outcome === 'retry') {
        retry.push(b)
        if (code !== 0) retriableError = refused(address, API_PRODUCE, version, code)
      } else {
        abandoned(b)
        fatal ??= outcome
      }
    })
    batches.forEach((b, i) => {
      if (!seen.has(i)) {
        retry.push(b)
        retriableError = new KafkaRequestError(`no answer for ${topic}-${b.partition}`, NETWORK, true)
      }
    })
    return { retry, error: retriableError, fatal }
  }

  const acquire = async (): Promise<void> => {
    while (sending >= MAX_IN_FLIGHT) await new Promise<void>((r) => slotWaiters.push(r))
    sending++
  }
  const release = (): void => {
    sending--
    slotWaiters.shift()?.()
  }

  /** Retries a retriable failure with backoff until the deadline; then throws the last cause. */
  const retrying = async <T>(deadline: number, attempt: () => Promise<T>): Promise<T> => {
    let wait = backoffMs
    for (;;) {
      try {
        return await attempt()
      } catch (error) {
        if (!(error instanceof KafkaRequestError) || !error.retriable || closed) throw error
        if (Date.now() + wait >= deadline) throw error
        await new Promise((r) => setTimeout(r, wait))
        wait = Math.min(1000, wait * 2)
      }
    }
  }

  const sendBatches = async (topic: string, messages: readonly LeanMessage[], timeoutMs: number) => {
    const deadline = Date.now() + Math.min(requestTimeoutMs, timeoutMs)
    const id = idempotent ? await retrying(deadline, () => producerId()) : undefined
    let force = false
    const first = await retrying(deadline, async () => {
      const meta = await topicMeta(topic, force)
      force = true
      return meta
    })
    // partition → messages (in send order); each partition's batch keeps its partition for good.
    const byPartition = new Map<number, LeanMessage[]>()
    for (const m of messages) {
      const p = partitionOf(first, m.key)
      const list = byPartition.get(p)
      if (list) list.push(m)
      else byPartition.set(p, [m])
    }
    let pending: Batch[] = []
    for (const [p, list] of byPartition) pending.push(newBatch(topic, p, list, id))
    let lastError: Error | undefined
    let wait = backoffMs
    force = false
    try {
      for (;;) {
        let meta: TopicMeta | undefined
        try {
          meta = await topicMeta(topic, force)
        } catch (error) {
          if (!(error instanceof KafkaRequestError) || !error.retriable) throw error
          lastError = error
        }
        if (meta) {
          const byLeader = new Map<string, Batch[]>()
          const next: Batch[] = []
          for (const b of pending) {
            const address = metadata?.nodes.get(meta.leaders[b.partition] ?? -1)
            if (!address) {
              next.push(b)
              lastError = new KafkaRequestError(`partition ${topic}-${b.partition} has no leader`, 5, true)
              continue
            }
            const list = byLeader.get(address)
            if (list) list.push(b)
            else byLeader.set(address, [b])
          }
          const results = await Promise.all(
            [...byLeader].map(([address, batches]) => produceTo(address, batches, timeoutMs, deadline)),
          )
          let fatal: Error | undefined
          for (const res of results) {
            next.push(...res.retry)
            if (res.error) lastError = res.error
            fatal ??= res.fatal
          }
          pending = next
          if (fatal) throw fatal
          if (pending.length === 0) return
        }
        if (closed) throw lastError ?? new KafkaRequestError('producer disconnected', NETWORK, false)
        if (Date.now() + wait >= deadline)
          throw lastError ?? new KafkaRequestError(`produce to ${topic} timed out`, REQUEST_TIMED_OUT, true)
        await new Promise((r) => setTimeout(r, wait))
        wait = Math.min(1000, wait * 2)
        force = true
      }
    } finally {
      // Whatever was not acked by now ended with an unknown outcome.
      for (const b of pending) if (!b.acked) abandoned(b)
    }
  }

  return {
    async connect() {
      let lastError: Error | undefined
      for (const address of options.brokers) {
        try {
          await conn(address)
          return
        } catch (error) {
          lastError = error as Error
        }
      }
      throw lastError
    },

    async send(topic, messages, timeoutMs = 30_000) {
      if (messages.length === 0) return
      await acquire()
      try {
        await sendBatches(topic, messages, timeoutMs)
      } finally {
        release()
      }
    },

    async disconnect() {
      closed = true
      pool.close()
    },
  }
}
