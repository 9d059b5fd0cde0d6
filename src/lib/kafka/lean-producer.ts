import { crc32c } from '../protocol/crc32c.js'
import { isRetriable } from '../protocol/errors.js'
import { partitionForKey } from '../protocol/murmur2.js'
import { Reader, Writer } from '../protocol/primitives.js'
import { ConnectionPool, KafkaRequestError, NETWORK, refused, requestMetadata } from './wire.js'

export { KafkaRequestError } from './wire.js'

/**
 * A lean Kafka producer for the API's hot path: encodes RecordBatch v2 itself (no compression, no
 * headers, CRC-32C from the broker's slice-by-8 table) and speaks standard Kafka Produce v7 and
 * Metadata v4 to any broker (the embedded one or Apache Kafka). Keys are partitioned with Kafka's
 * murmur2 exactly as the Java client and kafkajs's DefaultPartitioner do, so one key lands on the
 * same partition whichever producer wrote it. acks is always -1 (all in-sync replicas).
 *
 * Not idempotent (like the kafkajs producer it replaces): a batch whose connection drops before the
 * ack is retried and may then be stored twice; it is never reported as stored without an ack.
 */
export interface LeanProducerOptions {
  /** Bootstrap servers, host:port. */
  brokers: string[]
  clientId?: string
  /** TCP connect timeout. Default 3000 ms. */
  connectTimeoutMs?: number
  /** A request with no answer after this long fails and drops its connection. Default 30 s. */
  requestTimeoutMs?: number
  /** Retries of a produce after a retriable error or a lost connection. Default 2. */
  retries?: number
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
  /** Produces the messages with acks = -1; resolves once every partition's batch was acked. */
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

/**
 * One uncompressed RecordBatch v2 holding the messages (offsets 0..n-1, one timestamp, no headers,
 * no producer id), CRC-32C filled in.
 */
export function encodeRecordBatch(messages: readonly LeanMessage[], timestamp: number): Buffer {
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
  buf.writeBigInt64BE(-1n, 43) // producerId
  buf.writeInt16BE(-1, 51) // producerEpoch
  buf.writeInt32BE(-1, 53) // baseSequence
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

export function createLeanProducer(options: LeanProducerOptions): LeanProducer {
  const clientId = options.clientId ?? 'game'
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  const retries = options.retries ?? 2
  const backoffMs = options.retryBackoffMs ?? 100
  const autoCreate = options.allowAutoTopicCreation ?? true
  if (options.brokers.length === 0) throw new Error('no Kafka brokers given')

  const pool = new ConnectionPool(clientId, connectTimeoutMs, requestTimeoutMs, 'producer disconnected')
  let metadata: Metadata | undefined
  let refreshing: Promise<Metadata> | undefined
  let closed = false
  let rrPartition = 0

  const conn = (address: string) => pool.get(address)

  const fetchMetadata = async (topics: string[]): Promise<Metadata> => {
    let lastError: Error | undefined
    // Known brokers first (they may have replaced the bootstrap list), then the bootstrap servers.
    const candidates = [...new Set([...(metadata ? metadata.nodes.values() : []), ...options.brokers])]
    for (const address of candidates) {
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

  /** One produce request to one leader; returns the partitions that failed with a retriable error. */
  const produceTo = async (
    address: string,
    topic: string,
    parts: Map<number, LeanMessage[]>,
    timeoutMs: number,
  ): Promise<{ retry: number[]; error?: Error }> => {
    const now = Date.now()
    const batches: [number, Buffer][] = []
    for (const [index, messages] of parts) batches.push([index, encodeRecordBatch(messages, now)])
    let body: Buffer
    let version: number
    try {
      const c = await conn(address)
      version = c.version(API_PRODUCE, PRODUCE_VERSIONS)
      const w = encodeProduceRequest(new Writer(128), version, topic, timeoutMs, batches, batches.length)
      body = await c.request(API_PRODUCE, version, w)
    } catch (error) {
      if (!(error instanceof KafkaRequestError)) throw error
      return { retry: [...parts.keys()], error: error as Error }
    }
    const retry: number[] = []
    let retriableError: Error | undefined
    const seen = new Set<number>()
    decodeProduceResponse(version, new Reader(body), (name, index, code) => {
      if (name !== topic) return
      seen.add(index)
      if (code === 0) return
      const error = refused(address, API_PRODUCE, version, code)
      if (!error.retriable) throw error
      retry.push(index)
      retriableError = error
    })
    for (const index of parts.keys()) {
      if (!seen.has(index)) {
        retry.push(index)
        retriableError = new KafkaRequestError(`no answer for ${topic}-${index}`, NETWORK, true)
      }
    }
    return { retry, error: retriableError }
  }

  return {
    async connect() {
      const candidates = options.brokers
      let lastError: Error | undefined
      for (const address of candidates) {
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
      let remaining: readonly LeanMessage[] = messages
      let force = false
      let lastError: Error | undefined
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
          await new Promise((r) => setTimeout(r, Math.min(1000, backoffMs * 2 ** (attempt - 1))))
          if (closed) break
        }
        let meta: TopicMeta
        try {
          meta = await topicMeta(topic, force)
        } catch (error) {
          lastError = error as Error
          if (error instanceof KafkaRequestError && !error.retriable) throw error
          force = true
          continue
        }
        // partition → messages (in send order), then leader → partitions
        const byPartition = new Map<number, LeanMessage[]>()
        for (const m of remaining) {
          const p = partitionOf(meta, m.key)
          const list = byPartition.get(p)
          if (list) list.push(m)
          else byPartition.set(p, [m])
        }
        const byLeader = new Map<string, Map<number, LeanMessage[]>>()
        let leaderless = false
        for (const [p, list] of byPartition) {
          const address = metadata?.nodes.get(meta.leaders[p])
          if (!address) {
            leaderless = true
            continue
          }
          let parts = byLeader.get(address)
          if (!parts) byLeader.set(address, (parts = new Map()))
          parts.set(p, list)
        }
        const results = await Promise.all(
          [...byLeader].map(async ([address, parts]) => ({
            parts,
            ...(await produceTo(address, topic, parts, timeoutMs)),
          })),
        )
        const next: LeanMessage[] = []
        for (const [p, list] of byPartition) {
          if (!metadata?.nodes.get(meta.leaders[p])) next.push(...list)
        }
        for (const res of results) {
          for (const p of res.retry) next.push(...(res.parts.get(p) ?? []))
          if (res.error) lastError = res.error
        }
        if (leaderless && !lastError)
          lastError = new KafkaRequestError(`a partition of ${topic} has no leader`, 5, true)
        if (next.length === 0) return
        remaining = next
        force = true
      }
      throw lastError ?? new KafkaRequestError('produce failed', NETWORK, true)
    },

    async disconnect() {
      closed = true
      pool.close()
    },
  }
}
