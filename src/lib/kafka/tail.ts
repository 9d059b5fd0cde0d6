import { randomUUID } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { unreachableError } from '../errors.js'

/** Which events `game events tail` prints. */
export interface TailFilter {
  /** Only this event_type. */
  type?: string
  /** Only this player (the Host header). */
  host?: string
}

export interface TailedEvent {
  partition: number
  offset: string
  /** Kafka message timestamp, ms since epoch. */
  timestamp: number
  key: string | null
  /** The parsed event, or null when the message is not a JSON object. */
  event: Record<string, unknown> | null
  /** The message value as text. */
  raw: string
}

export interface TailOptions {
  kafka: Kafka
  brokers: string[]
  topic: string
  /** Start at the oldest stored event instead of the newest. */
  fromBeginning?: boolean
  filter?: TailFilter
  /** Stop after this many matching events. */
  limit?: number
  signal?: AbortSignal
  onEvent(event: TailedEvent): void
  /**
   * Called once when every partition has been read up to where it ended when the tail started,
   * with the counts so far (so a filter that matched nothing can say so instead of waiting quietly).
   */
  onCaughtUp?(result: TailResult): void
}

export interface TailResult {
  /** Events that matched the filter (and were handed to onEvent). */
  matched: number
  /** Messages read, matching or not. */
  seen: number
}

/**
 * Whether an event passes the filter. Host names compare without case, as HTTP host names do
 * (RFC 9110); event types are exact. Pure.
 */
export function matchesTail(event: Record<string, unknown> | null, filter: TailFilter = {}): boolean {
  if (filter.type !== undefined && event?.event_type !== filter.type) return false
  if (filter.host !== undefined) {
    const host = event?.Host
    if (typeof host !== 'string' || host.toLowerCase() !== filter.host.toLowerCase()) return false
  }
  return true
}

/** One human line per event: time, type, player, then the other fields. Pure. */
export function formatTailLine(t: TailedEvent): string {
  if (!t.event) return `${new Date(t.timestamp).toISOString()} (not an event) ${t.raw.slice(0, 200)}`
  const e = t.event
  const skip = new Set([
    'event_type',
    'Host',
    'received_at',
    'event_id',
    'schema_version',
    'Accept',
    'User-Agent',
  ])
  const fields = Object.entries(e)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
  const time = typeof e.received_at === 'string' ? e.received_at : new Date(t.timestamp).toISOString()
  return [time, String(e.event_type ?? '?'), String(e.Host ?? '-'), ...fields].join(' ')
}

function parseEvent(raw: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(raw)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null
  } catch {
    return null
  }
}

/**
 * Follows the events topic with a throw-away consumer group (random id, nothing committed), so
 * tailing never moves the stream's group. Resolves when `limit` events matched or `signal` fires.
 */
export async function tailEvents(options: TailOptions): Promise<TailResult> {
  const result: TailResult = { matched: 0, seen: 0 }
  if (options.signal?.aborted || options.limit === 0) return result
  const consumer = options.kafka.consumer({
    groupId: `game-tail-${randomUUID()}`,
    allowAutoTopicCreation: false,
    retry: { retries: 3, initialRetryTime: 200 },
  })
  try {
    await consumer.connect()
  } catch (error) {
    await consumer.disconnect().catch(() => {})
    throw unreachableError(
      'Kafka',
      options.brokers.join(','),
      'Start the stack with `game up`, or set --brokers / GAME_BROKERS.',
      error,
    )
  }
  let stop!: (error?: unknown) => void
  const stopped = new Promise<void>((resolve, reject) => {
    stop = (error) => (error ? reject(error) : resolve())
  })
  const onAbort = () => stop()
  options.signal?.addEventListener('abort', onAbort)
  let done = false
  try {
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) stop(e.payload.error)
    })
    // Where each partition ends now: once the tail has read that far everywhere, it is caught up.
    const pending = new Map<number, bigint>()
    if (options.onCaughtUp) {
      const admin = options.kafka.admin()
      try {
        await admin.connect()
        for (const p of await admin.fetchTopicOffsets(options.topic)) {
          const high = BigInt(p.high)
          if (options.fromBeginning && high > BigInt(p.low)) pending.set(p.partition, high)
        }
      } catch {
        // Unknown topic or no answer: the tail itself reports that.
      } finally {
        await admin.disconnect().catch(() => {})
      }
    }
    let caughtUp = !options.onCaughtUp
    const checkCaughtUp = () => {
      if (!caughtUp && pending.size === 0) {
        caughtUp = true
        options.onCaughtUp?.({ ...result })
      }
    }
    checkCaughtUp()
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? false })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (done) return
        result.seen++
        const end = pending.get(partition)
        if (end !== undefined && BigInt(message.offset) + 1n >= end) {
          pending.delete(partition)
          queueMicrotask(checkCaughtUp)
        }
        const raw = message.value ? message.value.toString('utf8') : ''
        const event = parseEvent(raw)
        if (!matchesTail(event, options.filter)) return
        result.matched++
        options.onEvent({
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          key: message.key ? message.key.toString('utf8') : null,
          event,
          raw,
        })
        if (options.limit !== undefined && result.matched >= options.limit) {
          done = true
          stop()
        }
      },
    })
    await stopped
  } finally {
    done = true
    options.signal?.removeEventListener('abort', onAbort)
    await consumer.disconnect().catch(() => {})
  }
  return result
}
