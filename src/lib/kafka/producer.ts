import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs'
import { GameError } from '../errors.js'
import { createLeanProducer, type LeanProducer } from './lean-producer.js'

/**
 * Group-commit event producer. Concurrent `send` calls are queued and shipped together in one
 * produce request (acks = all), so N concurrent HTTP requests cost one broker round trip instead of
 * N. A batch goes out as soon as a produce slot is free and either `lingerMs` has passed since its
 * first message or it holds `maxBatch` messages; while every slot is busy the queue keeps filling,
 * which is what makes batches grow under load. `send` resolves only after the broker acked the
 * batch holding the message.
 */
export interface EventProducerOptions {
  /** Produce through this kafkajs client ... */
  kafka?: Kafka
  /**
   * ... or, when no `kafka` is given, through the lean producer (lean-producer.ts: RecordBatch v2
   * encoded in-house, same partitioning, acks = -1) connected to these bootstrap servers.
   */
  brokers?: string[]
  clientId?: string
  topic: string
  /**
   * How long the first queued message waits for company before its batch is sent. Default 0: a
   * message goes out at once when a produce slot is free, and batches form from what queues while
   * every slot is busy (bench/api.ts: +16 % req/s over 1 ms at 50 connections, same batch count).
   */
  lingerMs?: number
  /** Most messages per produce request. Default 500. */
  maxBatch?: number
  /** Produce requests in flight at once. Default 1 (measured best in bench/api.ts: one big batch per round trip beats two half-size ones). */
  maxInFlight?: number
  /**
   * A send that has no ack after this long is failed with PRODUCE_TIMEOUT (its batch may still land:
   * the caller must not report success, and the event may or may not be in Kafka). Default 5000 ms.
   */
  timeoutMs?: number
  /** Called after every produce request, acked or failed. */
  onBatch?: (info: BatchInfo) => void
}

export interface BatchInfo {
  size: number
  latencyMs: number
  ok: boolean
  error?: Error
}

export interface ProducerStats {
  /** Messages acked by the broker. */
  acked: number
  /** Messages whose send failed or timed out. */
  failed: number
  /** Produce requests sent. */
  batches: number
  /** Messages waiting for a produce slot. */
  queued: number
  /** Produce requests awaiting an ack. */
  inFlight: number
  /** Times the producer (kafkajs or lean) was (re)connected. */
  connects: number
}

export interface EventProducer {
  send(key: string, value: string | Buffer): Promise<void>
  /** Resolves once everything queued so far has been acked or failed. */
  flush(): Promise<void>
  /** Flushes, then disconnects. Later sends fail with PRODUCER_CLOSED. */
  close(): Promise<void>
  readonly stats: Readonly<ProducerStats>
}

interface Pending {
  key: string
  value: string | Buffer
  resolve: () => void
  reject: (error: Error) => void
  settled: boolean
  queuedAt: number
}

export function createEventProducer(options: EventProducerOptions): EventProducer {
  const lingerMs = options.lingerMs ?? 0
  const maxBatch = Math.max(1, options.maxBatch ?? 500)
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1)
  const timeoutMs = options.timeoutMs ?? 5000
  const stats: ProducerStats = { acked: 0, failed: 0, batches: 0, queued: 0, inFlight: 0, connects: 0 }

  let queue: Pending[] = []
  let lingerTimer: NodeJS.Timeout | undefined
  let closed = false
  /** Sends not yet acked or failed. */
  let unsettled = 0
  let connectingProducer: Sender | undefined
  /** Set by flush/close: ship without lingering. */
  let draining = false
  let producer: Sender | undefined
  let connecting: Promise<Sender> | undefined
  const idleWaiters: (() => void)[] = []
  /** Batches awaiting their ack, with when they were sent. */
  const inFlightBatches = new Set<{ items: Pending[]; sentAt: number }>()
  // One timer sweeps for expired sends instead of one timer per message (the hot path stays cheap).
  const sweepEveryMs = Math.max(1, Math.min(250, Math.floor(timeoutMs / 5)))
  let sweepTimer: NodeJS.Timeout | undefined
  const timeoutError = () =>
    new GameError('PRODUCE_TIMEOUT', `Kafka did not ack within ${timeoutMs} ms`, { retriable: true })
  const sweep = () => {
    const now = performance.now()
    let expired = 0
    while (expired < queue.length && now - queue[expired].queuedAt >= timeoutMs) {
      settle(queue[expired], timeoutError())
      expired++
    }
    if (expired > 0) queue = queue.slice(expired)
    stats.queued = queue.length
    for (const b of inFlightBatches) {
      if (now - b.sentAt >= timeoutMs) for (const m of b.items) settle(m, timeoutError())
    }
    checkIdle()
  }

  if (!options.kafka && !options.brokers?.length) {
    throw new GameError('NO_BROKERS', 'createEventProducer needs a kafkajs client or bootstrap brokers')
  }
  const newProducer = (): Sender =>
    options.kafka
      ? kafkajsSender(options.kafka, options.topic, timeoutMs)
      : leanSender(
          // Idempotent; a send retries until the produce timeout (lean.send's budget), no longer,
          // so an event answered 503 is not stored behind the client's back by a late retry.
          createLeanProducer({
            brokers: options.brokers ?? [],
            clientId: options.clientId,
            retryBackoffMs: 100,
            requestTimeoutMs: timeoutMs,
          }),
          options.topic,
          timeoutMs,
        )

  /** The connected producer; a failed one is replaced by a fresh one on the next call. */
  const connected = (): Promise<Sender> => {
    if (producer) return Promise.resolve(producer)
    if (!connecting) {
      const p = newProducer()
      connectingProducer = p
      connecting = p
        .connect()
        .then(() => {
          stats.connects++
          producer = p
          return p
        })
        .catch((error: unknown) => {
          p.disconnect().catch(() => {})
          throw error
        })
        .finally(() => {
          connecting = undefined
          connectingProducer = undefined
        })
    }
    return connecting
  }

  const dropProducer = (p: Sender | undefined) => {
    if (!p || producer !== p) return
    producer = undefined
    p.disconnect().catch(() => {})
  }

  const settle = (item: Pending, error?: Error) => {
    if (item.settled) return
    item.settled = true
    unsettled--
    if (error) {
      stats.failed++
      item.reject(error)
    } else {
      stats.acked++
      item.resolve()
    }
  }

  // Idle = every send has its answer (a produce that timed out may still be running in kafkajs).
  const checkIdle = () => {
    if (unsettled === 0) {
      if (sweepTimer) {
        clearInterval(sweepTimer)
        sweepTimer = undefined
      }
      for (const w of idleWaiters.splice(0)) w()
    }
  }

  const ship = async (batch: Pending[]) => {
    stats.inFlight++
    stats.batches++
    const started = performance.now()
    const entry = { items: batch, sentAt: started }
    inFlightBatches.add(entry)
    let p: Sender | undefined
    let error: Error | undefined
    try {
      p = await connected()
      await p.send(batch)
    } catch (e) {
      error =
        performance.now() - started >= timeoutMs
          ? new GameError(
              'PRODUCE_TIMEOUT',
              `Kafka did not ack within ${timeoutMs} ms: ${(e as Error).message}`,
              {
                cause: e,
                retriable: true,
              },
            )
          : new GameError('PRODUCE_FAILED', `Kafka produce failed: ${(e as Error).message}`, {
              cause: e,
              retriable: true,
            })
      // A producer that failed may hold dead connections; start from a fresh one next time.
      dropProducer(p)
    }
    stats.inFlight--
    inFlightBatches.delete(entry)
    for (const m of batch) settle(m, error)
    options.onBatch?.({ size: batch.length, latencyMs: performance.now() - started, ok: !error, error })
    pump()
  }

  const pump = () => {
    while (queue.length > 0 && stats.inFlight < maxInFlight) {
      if (queue.length < maxBatch && lingerMs > 0 && !draining) {
        const waited = performance.now() - queue[0].queuedAt
        if (waited < lingerMs) {
          if (!lingerTimer) {
            lingerTimer = setTimeout(() => {
              lingerTimer = undefined
              pump()
            }, lingerMs - waited)
          }
          break
        }
      }
      if (lingerTimer) {
        clearTimeout(lingerTimer)
        lingerTimer = undefined
      }
      const batch = queue.slice(0, maxBatch).filter((m) => !m.settled)
      queue = queue.slice(maxBatch)
      if (batch.length > 0) void ship(batch)
    }
    stats.queued = queue.length
    checkIdle()
  }

  return {
    stats,
    send(key, value) {
      if (closed) {
        return Promise.reject(new GameError('PRODUCER_CLOSED', 'The event producer is closed'))
      }
      return new Promise<void>((resolve, reject) => {
        unsettled++
        queue.push({ key, value, resolve, reject, settled: false, queuedAt: performance.now() })
        stats.queued = queue.length
        if (!sweepTimer) sweepTimer = setInterval(sweep, sweepEveryMs)
        pump()
      })
    },
    flush() {
      if (unsettled === 0) return Promise.resolve()
      return new Promise<void>((resolve) => {
        idleWaiters.push(() => {
          draining = closed
          resolve()
        })
        draining = true
        pump()
      })
    },
    async close() {
      closed = true
      draining = true
      await this.flush()
      const p = producer
      producer = undefined
      connectingProducer?.disconnect().catch(() => {})
      if (p) await p.disconnect().catch(() => {})
    },
  }
}

/** What `ship` needs from a Kafka client: connect, produce one batch with acks = -1, disconnect. */
interface Sender {
  connect(): Promise<void>
  send(batch: readonly Pending[]): Promise<void>
  disconnect(): Promise<void>
}

function kafkajsSender(kafka: Kafka, topic: string, timeoutMs: number): Sender {
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(batch) {
      await producer.send({
        topic,
        acks: -1,
        timeout: timeoutMs,
        compression: CompressionTypes.None,
        messages: batch.map((m) => ({ key: m.key, value: m.value })),
      })
    },
  }
}

function leanSender(lean: LeanProducer, topic: string, timeoutMs: number): Sender {
  return {
    connect: () => lean.connect(),
    disconnect: () => lean.disconnect(),
    send: (batch) => lean.send(topic, batch, timeoutMs),
  }
}
