import { type DeferredBytes, isDeferredBytes } from '../../protocol/primitives.js'
import type { Message } from '../../protocol/schema.js'
import type { PartitionLog } from '../log/types.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'

interface FetchPartition {
  partition: number
  fetchOffset: bigint
  maxBytes: number
  log: PartitionLog | undefined
  /** Filled by collect(). */
  error: number
  highWatermark: bigint
  logStartOffset: bigint
  records: Buffer | DeferredBytes | null
}

/**
 * Reads allowed more than this many bytes leave the record data in the segment files (a DeferredBytes
 * the server streams in small pieces as the socket drains), so a client that asks for 50 MB and stops
 * reading holds a piece of the broker's memory, not 50 MB. Smaller reads are read at once.
 */
const DEFER_ABOVE = 1024 * 1024

function releaseRecords(p: FetchPartition): void {
  if (p.records && isDeferredBytes(p.records)) p.records.release()
  p.records = null
}

interface FetchTopic {
  topic: string
  /** Kafka's topic id (v13+ requests name topics by it). */
  topicId: string
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
      releaseRecords(p)
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
        const read =
          p.log.readDeferred && budget > DEFER_ABOVE
            ? await p.log.readDeferred(p.fetchOffset, budget)
            : await p.log.read(p.fetchOffset, Math.max(budget, 1))
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

/**
 * Fetch (1) v0-17 as Apache Kafka 3.9 advertises them: v4+ served (sessionless: session id 0; a
 * request for an incremental session gets FETCH_SESSION_ID_NOT_FOUND, so the client falls back to
 * full fetches), v13+ addressing topics by id; v0-3, which need the old message formats, get
 * UNSUPPORTED_VERSION per partition. Long-poll bounded by max_wait_ms.
 */
export const fetchHandler = codecHandler(1, async (ctx, req) => {
  const v = ctx.apiVersion
  const { logs } = ctx.broker
  const byId = v >= 13 ? new Map(logs.topics().map((t) => [t.id, t.name])) : undefined
  const unknownIds = new Set<string>()
  const topics: FetchTopic[] = (req.topics as Message[]).map((t) => {
    const name = byId ? byId.get(t.topicId as string) : (t.topic as string)
    if (name === undefined) unknownIds.add(t.topicId as string)
    return {
      topic: name ?? '',
      topicId: t.topicId as string,
      partitions: (t.partitions as Message[]).map(
        (p): FetchPartition => ({
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          maxBytes: p.partitionMaxBytes,
          log: name === undefined || v < 4 ? undefined : logs.partition(name, p.partition),
          error: 0,
          highWatermark: -1n,
          logStartOffset: -1n,
          records: null,
        }),
      ),
    }
  })
  const sessionId = req.sessionId as number
  const sessionEpoch = req.sessionEpoch as number
  const respond = (errorCode: number) => ({
    throttleTimeMs: 0,
    errorCode,
    sessionId: 0,
    responses: topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition,
        errorCode:
          v < 4
            ? ErrorCode.UNSUPPORTED_VERSION
            : v >= 13 && unknownIds.has(t.topicId)
              ? ErrorCode.UNKNOWN_TOPIC_ID
              : p.error,
        highWatermark: p.highWatermark,
        lastStableOffset: p.highWatermark,
        logStartOffset: p.logStartOffset,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: p.records ?? Buffer.alloc(0),
      })),
    })),
  })
  // Sessionless only (KIP-227): session 0 with epoch -1 (full, no session) or 0 (a client asking
  // to create one gets a full response with session id 0, meaning "no session").
  if (v >= 7 && (sessionId !== 0 || (sessionEpoch !== -1 && sessionEpoch !== 0)))
    return respond(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  if (v < 4) return respond(0)
  const maxBytes = req.maxBytes as number
  const minBytes = req.minBytes as number
  const deadline = Date.now() + Math.max(0, req.maxWaitMs as number)
  let state = await collect(topics, maxBytes)
  while (!state.errors && state.bytes < Math.max(1, minBytes) && !ctx.signal.aborted) {
    const left = deadline - Date.now()
    if (left <= 0) break
    await waitForAny(topics, left, ctx.signal)
    state = await collect(topics, maxBytes)
  }
  return respond(0)
})
