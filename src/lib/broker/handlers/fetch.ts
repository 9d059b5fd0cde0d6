import { Writer } from '../../protocol/primitives.js'
import type { PartitionLog } from '../log/types.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { ApiHandler, RequestContext } from './types.js'

interface FetchPartition {
  partition: number
  fetchOffset: bigint
  maxBytes: number
  log: PartitionLog | undefined
  /** Filled by collect(). */
  error: number
  highWatermark: bigint
  logStartOffset: bigint
  records: Buffer | null
}

interface FetchTopic {
  topic: string
  partitions: FetchPartition[]
}

/**
 * Reads every partition once: whole batches from the fetch offset, each partition capped by its
 * max_bytes and the response by max_bytes, but the first non-empty partition always gets at least
 * one whole batch (KIP-74). Returns the number of record bytes gathered.
 */
async function collect(topics: FetchTopic[], maxBytes: number): Promise<{ bytes: number; errors: boolean }> {
  let bytes = 0
  let errors = false
  for (const t of topics) {
    for (const p of t.partitions) {
      p.records = null
      if (!p.log) {
        p.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        p.highWatermark = -1n
        p.logStartOffset = -1n
        errors = true
        continue
      }
      p.highWatermark = p.log.highWatermark()
      p.logStartOffset = p.log.logStartOffset()
      if (p.fetchOffset < p.logStartOffset || p.fetchOffset > p.highWatermark) {
        p.error = ErrorCode.OFFSET_OUT_OF_RANGE
        errors = true
        continue
      }
      p.error = ErrorCode.NONE
      if (p.fetchOffset === p.highWatermark) continue
      const budget = Math.min(p.maxBytes, maxBytes - bytes)
      if (budget <= 0 && bytes > 0) continue
      try {
        const read = await p.log.read(p.fetchOffset, Math.max(budget, 1))
        p.records = read.records
        p.highWatermark = read.highWatermark
        p.logStartOffset = read.logStartOffset
        bytes += read.records.length
      } catch (error) {
        p.error = kafkaErrorCode(error)
        errors = true
      }
    }
  }
  return { bytes, errors }
}

function maxOffset(a: bigint, b: bigint): bigint {
  if (a > b) return a
  return b
}

/** Parks until any partition gets data past `offset` (its current high watermark), or the time is up. */
async function waitForAny(topics: FetchTopic[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const ac = new AbortController()
  const onAbort = () => ac.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const waits: Promise<void>[] = []
    for (const t of topics) {
      for (const p of t.partitions) {
        if (!p.log) continue
        const from = maxOffset(p.highWatermark, p.fetchOffset)
        waits.push(p.log.waitForData(from, timeoutMs, ac.signal))
      }
    }
    if (waits.length === 0) return
    await Promise.race(waits)
  } finally {
    signal.removeEventListener('abort', onAbort)
    ac.abort()
  }
}

/** Fetch (1) v4-11: sessionless (session id 0), long-poll bounded by max_wait_ms. */
export const fetchHandler: ApiHandler = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 11,
  async handle(ctx: RequestContext, r) {
    const v = ctx.apiVersion
    r.int32() // replica_id
    const maxWaitMs = r.int32()
    const minBytes = r.int32()
    const maxBytes = r.int32()
    r.int8() // isolation_level: no transactions, LSO = HW
    if (v >= 7) {
      r.int32() // session_id
      r.int32() // session_epoch
    }
    const { logs } = ctx.broker
    const topics: FetchTopic[] = r.array((r) => {
      const topic = r.string()
      return {
        topic,
        partitions: r.array((r): FetchPartition => {
          const partition = r.int32()
          if (v >= 9) r.int32() // current_leader_epoch
          const fetchOffset = r.int64()
          if (v >= 5) r.int64() // log_start_offset (followers only)
          const maxBytes = r.int32()
          return {
            partition,
            fetchOffset,
            maxBytes,
            log: logs.partition(topic, partition),
            error: 0,
            highWatermark: -1n,
            logStartOffset: -1n,
            records: null,
          }
        }),
      }
    })
    if (v >= 7) r.array((r) => [r.string(), r.array((r) => r.int32())])
    if (v >= 11) r.string() // rack_id
    const deadline = Date.now() + Math.max(0, maxWaitMs)
    let state = await collect(topics, maxBytes)
    while (!state.errors && state.bytes < Math.max(1, minBytes) && !ctx.signal.aborted) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await waitForAny(topics, left, ctx.signal)
      state = await collect(topics, maxBytes)
    }
    const w = new Writer(128 + topics.length * 96)
    w.int32(0) // throttle_time_ms
    if (v >= 7) w.int16(0).int32(0)
    w.array(topics, (w, t) => {
      w.string(t.topic)
      w.array(t.partitions, (w, p) => {
        w.int32(p.partition).int16(p.error).int64(p.highWatermark)
        w.int64(p.highWatermark) // last_stable_offset
        if (v >= 5) w.int64(p.logStartOffset)
        w.int32(0) // aborted_transactions: none
        if (v >= 11) w.int32(-1) // preferred_read_replica
        w.nullableBytes(p.records ?? Buffer.alloc(0))
      })
    })
    return w
  },
}
