import net from 'node:net'
import { ExitCode, GameError, isGameError } from '../errors.js'
import { requestHeaderVersion, responseHeaderVersion } from '../protocol/apis.js'
import { type Chunk, isDeferredBytes } from '../protocol/primitives.js'
import { GroupCoordinator } from './group/coordinator.js'
import {
  API_HANDLERS,
  type BrokerContext,
  type HandlerResult,
  ProtocolDecodeError,
  Reader,
  type RequestContext,
  SUPPORTED_APIS,
  unsupportedApiVersionsResponse,
  type Writer,
} from './handlers/index.js'
import type { WriteFaults } from './log/files.js'
import { openLogManager } from './log/index.js'
import type { FsyncPolicy, LogManager, StorageEvent, TopicConfig } from './log/types.js'
import { DEFAULT_FSYNC_INTERVAL_MS, LogError } from './log/types.js'
import { openMemoryLogManager } from './memory-log.js'

export type BrokerLogLevel = 'error' | 'warn' | 'info' | 'debug'

export interface BrokerOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string
  /** 0 = ephemeral. */
  port: number
  dataDir: string
  /** Default: fsync every DEFAULT_FSYNC_INTERVAL_MS (an append resolves once written to the OS). */
  fsync?: FsyncPolicy
  /** Host written into Metadata/FindCoordinator (default: host, or 127.0.0.1 for a wildcard bind). */
  advertisedHost?: string
  autoCreateTopics?: boolean
  defaultPartitions?: number
  defaultTopicConfig?: Partial<TopicConfig>
  /** Largest request frame accepted (default 100 MiB); a bigger one closes that connection. */
  maxFrameBytes?: number
  /**
   * Bytes held for requests not yet fully received, across all connections (default 100 MiB).
   * Past it, connections stop being read until frames complete or connections close; each
   * connection may still hold PENDING_FLOOR_BYTES, so small requests keep being served.
   */
  maxPendingRequestBytes?: number
  /** Open connections at most (Kafka's max.connections, default 1000); more are refused. */
  maxConnections?: number
  log?: (level: BrokerLogLevel, message: string, extra?: Record<string, unknown>) => void
  /**
   * Build the per-request debug lines (API, version, client) and pass them to `log` (default
   * false: the request loop then builds no log strings at all).
   */
  logDebug?: boolean
  /** 'disk' (default, under dataDir) or 'memory' (nothing survives close; for tests). */
  storage?: 'disk' | 'memory'
  /** Kafka's group.initial.rebalance.delay.ms (default 0). */
  initialRebalanceDelayMs?: number
  /** After a failed write (a full disk), how long a partition refuses appends before it tries again (ms, default 250). */
  storageRetryMs?: number
  /** How long writes must work again before the log says the storage episode ended (ms, default 5000). */
  storageSettleMs?: number
  /** Test hook: simulated write failures in the log (e.g. a DiskBudget). */
  storageFaults?: WriteFaults
}

export interface BrokerStats {
  /** Open connections now. */
  connections: number
  /** Connections accepted since start. */
  connectionsTotal: number
  /** Requests handled, by API name. */
  requests: Record<string, number>
  /** Connections closed because of a bad frame, unknown API or version. */
  rejectedConnections: number
  /** Connections refused because maxConnections were open. */
  refusedConnections: number
  /** Bytes of half-received requests held now, across all connections. */
  pendingRequestBytes: number
  bytesIn: number
  bytesOut: number
}

export interface BrokerHandle {
  host: string
  port: number
  close(): Promise<void>
  stats(): BrokerStats
}

const DEFAULT_MAX_FRAME = 100 * 1024 * 1024
const DEFAULT_MAX_PENDING = 100 * 1024 * 1024
const DEFAULT_MAX_CONNECTIONS = 1000
/** A connection may always hold this much of an incomplete request, whatever the global budget. */
const PENDING_FLOOR_BYTES = 1024 * 1024
/** Complete-but-unanswered request bytes per connection before reading from it pauses. */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024
const PRODUCE = 0
/** Produce requests of one connection whose appends may be in flight at once. */
const MAX_PIPELINED_PRODUCES = 16
/** Decoded-but-unanswered requests per connection before reading from it pauses. */
const MAX_QUEUED_REQUESTS = 64
/** Bytes of streamed record data read from the log per socket write (see respond). */
const STREAM_CHUNK = 256 * 1024

async function openLogs(options: BrokerOptions, log: NonNullable<BrokerOptions['log']>): Promise<LogManager> {
  if (options.storage === 'memory')
    return openMemoryLogManager({ defaultTopicConfig: options.defaultTopicConfig })
  return openLogManager({
    dataDir: options.dataDir,
    fsync: options.fsync ?? { intervalMs: DEFAULT_FSYNC_INTERVAL_MS },
    defaultTopicConfig: options.defaultTopicConfig,
    storageRetryMs: options.storageRetryMs,
    storageSettleMs: options.storageSettleMs,
    faults: options.storageFaults,
    onStorageEvent: (event) => {
      const [level, message] = storageEventLine(options.dataDir, event)
      log(level, message)
    },
  })
}

/** Pure: the one log line of a storage episode's start or end. */
export function storageEventLine(dataDir: string, event: StorageEvent): [BrokerLogLevel, string] {
  if (event.kind === 'failed')
    return [
      'error',
      `storage failure: ${event.error}. Produce requests get KAFKA_STORAGE_ERROR until a write to ${dataDir} ` +
        'succeeds again (retried on each produce); free space there (`df -h`) and writing resumes by itself',
    ]
  return [
    'info',
    `storage writable again after ${(event.downMs / 1000).toFixed(1)} s; ${event.refused} write(s) were refused meanwhile`,
  ]
}

/** Starts the embedded Kafka-wire-compatible broker; resolves once it listens. */
export async function startBroker(options: BrokerOptions): Promise<BrokerHandle> {
  const host = options.host ?? '127.0.0.1'
  const maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_FRAME
  const log = options.log ?? (() => {})
  let logs: LogManager
  try {
    logs = await openLogs(options, log)
  } catch (error) {
    if (isGameError(error)) throw error
    if (error instanceof LogError && (error.code === 'LOG_LOCKED' || error.code === 'CORRUPT_LOG'))
      throw new GameError(
        error.code === 'LOG_LOCKED' ? 'BROKER_LOG_LOCKED' : 'BROKER_LOG_CORRUPT',
        error.message,
        {
          cause: error,
          hint: error.hint,
        },
      )
    const message = error instanceof Error ? error.message : String(error)
    throw new GameError(
      'BROKER_STORAGE_FAILED',
      `Could not open the broker's data in ${options.dataDir}: ${message}`,
      {
        cause: error,
        hint: /ENOSPC|EDQUOT/.test(message)
          ? `Its disk is full: free space there (\`df -h ${options.dataDir}\`), then start it again.`
          : 'Check that the data directory exists, is writable and is not used by another broker (--data-dir / GAME_HOME).',
      },
    )
  }
  const groups = new GroupCoordinator({
    offsets: logs.offsets,
    initialRebalanceDelayMs: options.initialRebalanceDelayMs,
    log,
  })
  const stats: BrokerStats = {
    connections: 0,
    connectionsTotal: 0,
    requests: {},
    rejectedConnections: 0,
    refusedConnections: 0,
    pendingRequestBytes: 0,
    bytesIn: 0,
    bytesOut: 0,
  }
  let boundPort = options.port
  const creating = new Map<string, Promise<void>>()
  const wildcard = host === '0.0.0.0' || host === '::' || host === ''
  const broker: BrokerContext = {
    logs,
    groups,
    nodeId: 0,
    clusterId: 'game-embedded-kafka',
    advertisedHost: options.advertisedHost ?? (wildcard ? '127.0.0.1' : host),
    port: () => boundPort,
    autoCreateTopics: options.autoCreateTopics ?? true,
    defaultPartitions: options.defaultPartitions ?? 3,
    defaultTopicConfig: options.defaultTopicConfig ?? {},
    async ensureTopic(name, partitions, config) {
      if (logs.topic(name)) return
      let p = creating.get(name)
      if (!p) {
        p = logs
          .createTopic(name, partitions, { ...options.defaultTopicConfig, ...config })
          .then(
            () => {},
            (error: unknown) => {
              if (!(error instanceof LogError && error.code === 'TOPIC_ALREADY_EXISTS')) throw error
            },
          )
          .finally(() => creating.delete(name))
        creating.set(name, p)
      }
      await p
    },
    log,
    debug: options.logDebug === true,
  }

  const connections = new Set<Connection>()
  const pending = new PendingBudget(options.maxPendingRequestBytes ?? DEFAULT_MAX_PENDING, stats)
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  const server = net.createServer((socket) => {
    if (connections.size >= maxConnections) {
      stats.refusedConnections++
      log('warn', `refusing connection from ${socket.remoteAddress}: ${maxConnections} connections open`)
      socket.destroy()
      return
    }
    const conn = new Connection(socket, broker, stats, maxFrame, pending)
    connections.add(conn)
    socket.once('close', () => connections.delete(conn))
  })
  server.on('error', (error) => log('error', `broker server error: ${error.message}`))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await logs.close().catch(() => {})
    groups.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') {
      throw new GameError('PORT_IN_USE', `Port ${options.port} on ${host} is already in use`, {
        exitCode: ExitCode.failure,
        hint: 'Stop whatever listens there, or start the broker on another port with `--kafka-port` (GAME_KAFKA_PORT).',
        cause: error,
        details: { host, port: options.port },
      })
    }
    throw new GameError(
      'BROKER_LISTEN_FAILED',
      `Could not listen on ${host}:${options.port}: ${String(error)}`,
      {
        cause: error,
        hint: 'Check the bind address (--host) and the port (`--kafka-port`).',
      },
    )
  }
  const address = server.address() as net.AddressInfo
  boundPort = address.port
  log('info', `broker listening on ${host}:${boundPort}`, {
    advertised: `${broker.advertisedHost}:${boundPort}`,
  })

  let closing: Promise<void> | undefined
  return {
    host,
    port: boundPort,
    stats: () => ({ ...stats, requests: { ...stats.requests } }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        groups.close()
        const drains = [...connections].map((c) => c.close())
        await Promise.all(drains)
        await stopped
        await logs.close()
        log('info', 'broker stopped')
      })()
      return closing
    },
  }
}

const API_NAMES = new Map([...API_HANDLERS.values()].map((h) => [h.key, h.name]))

/**
 * The bytes of half-received requests, across connections (issue 17). A connection over its floor
 * that would take the total past the cap stops being read (TCP then slows its sender) until another
 * connection's frame completes or closes.
 */
class PendingBudget {
  private held = 0
  private readonly waiting = new Set<() => void>()

  constructor(
    readonly max: number,
    private readonly stats: BrokerStats,
  ) {}

  /** May a connection already holding `mine` bytes read more? */
  allows(mine: number): boolean {
    return mine < PENDING_FLOOR_BYTES || this.held < this.max
  }

  add(n: number): void {
    this.held += n
    this.stats.pendingRequestBytes = this.held
  }

  release(n: number): void {
    if (n <= 0) return
    this.held -= n
    this.stats.pendingRequestBytes = this.held
    if (this.held < this.max && this.waiting.size > 0) {
      const wake = [...this.waiting]
      this.waiting.clear()
      for (const w of wake) w()
    }
  }

  wait(wake: () => void): void {
    this.waiting.add(wake)
  }

  forget(wake: () => void): void {
    this.waiting.delete(wake)
  }
}

/** One client connection: frames in, one request at a time, responses in order. */
class Connection {
  private chunks: Buffer[] = []
  private buffered = 0
  private queue: Buffer[] = []
  private queuedBytes = 0
  /** Why reading is paused; reading resumes only when none holds. */
  private overBudget = false
  private muted = false
  /** A response is being streamed from the log (see stream()). */
  private streaming = false
  private running: Promise<void> | null = null
  /** Settles once every pipelined Produce so far has been answered. */
  private tail: Promise<void> = Promise.resolve()
  private outstanding = 0
  private closed = false
  private readonly abort = new AbortController()
  private readonly clientHost: string

  constructor(
    private readonly socket: net.Socket,
    private readonly broker: BrokerContext,
    private readonly stats: BrokerStats,
    private readonly maxFrame: number,
    private readonly pending: PendingBudget,
  ) {
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`
    stats.connections++
    stats.connectionsTotal++
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => {
      this.muted = false
      this.updateReading()
    })
    socket.on('error', () => {})
    socket.once('close', () => {
      this.closed = true
      this.abort.abort()
      this.stats.connections--
      this.pending.forget(this.wake)
      this.pending.release(this.buffered)
      this.buffered = 0
      this.chunks = []
    })
  }

  private readonly wake = (): void => {
    this.overBudget = false
    this.updateReading()
  }

  /**
   * Reads only while this connection is not muted (its last response has not drained: Kafka's
   * muting), its answered-later queue is short, and the half-received-request budget allows it.
   */
  private updateReading(): void {
    if (this.closed) return
    if (!this.overBudget && !this.pending.allows(this.buffered)) {
      this.overBudget = true
      this.pending.wait(this.wake)
    }
    const stop =
      this.muted ||
      this.streaming ||
      this.overBudget ||
      this.queue.length >= MAX_QUEUED_REQUESTS ||
      this.queuedBytes >= MAX_QUEUED_BYTES
    if (stop) {
      if (!this.socket.isPaused()) this.socket.pause()
    } else if (this.socket.isPaused()) this.socket.resume()
  }

  /** Drops the connection and waits for its in-flight request to finish. */
  async close(): Promise<void> {
    this.closed = true
    this.abort.abort()
    this.socket.destroy()
    await this.running
    await this.tail
  }

  private reject(reason: string): void {
    if (this.closed) return
    this.stats.rejectedConnections++
    this.broker.log('debug', `closing connection from ${this.clientHost}: ${reason}`)
    this.closed = true
    this.queue.length = 0
    this.abort.abort()
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return
    this.stats.bytesIn += chunk.length
    this.chunks.push(chunk)
    this.buffered += chunk.length
    this.pending.add(chunk.length)
    while (this.buffered >= 4) {
      const size = this.peekSize()
      if (size < 0 || size > this.maxFrame) {
        this.reject(`frame size ${size} outside [0, ${this.maxFrame}]`)
        return
      }
      if (this.buffered < 4 + size) break
      const frame = this.take(4 + size)
      this.pending.release(4 + size)
      this.queue.push(frame.subarray(4))
      this.queuedBytes += size
    }
    // A client that sends faster than we answer is slowed down by TCP, not by our memory.
    this.updateReading()
    if (!this.running && this.queue.length > 0) this.running = this.pump()
  }

  private peekSize(): number {
    const first = this.chunks[0]
    if (first.length >= 4) return first.readInt32BE(0)
    return Buffer.concat(this.chunks, 4).readInt32BE(0)
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let at = 0
      while (at < n) {
        const c = this.chunks[0]
        const k = Math.min(c.length, n - at)
        c.copy(out, at, 0, k)
        at += k
        if (k === c.length) this.chunks.shift()
        else this.chunks[0] = c.subarray(k)
      }
    }
    this.buffered -= n
    return out
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        const frame = this.queue.shift()!
        this.queuedBytes -= frame.length
        this.updateReading()
        await this.handle(frame)
        // Muted: no further request is read or answered until the last response has drained.
        if (this.socket.writableNeedDrain && !this.closed) {
          await new Promise<void>((resolve) => {
            const done = () => {
              this.socket.off('drain', done)
              this.socket.off('close', done)
              resolve()
            }
            this.socket.on('drain', done)
            this.socket.on('close', done)
          })
        }
      }
    } finally {
      this.running = null
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    let apiKey = -1
    let apiVersion = -1
    try {
      const r = new Reader(frame)
      apiKey = r.int16()
      apiVersion = r.int16()
      const correlationId = r.int32()
      const handler = API_HANDLERS.get(apiKey)
      if (!handler) {
        this.reject(`unknown API key ${apiKey}`)
        return
      }
      if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
        if (apiKey === 18 && apiVersion > handler.maxVersion) {
          await this.tail
          this.count(handler.name)
          this.broker.log(
            'debug',
            `ApiVersions v${apiVersion} from ${this.clientHost}: UNSUPPORTED_VERSION (KIP-511)`,
          )
          this.respond(correlationId, unsupportedApiVersionsResponse(SUPPORTED_APIS), apiKey, 0)
          return
        }
        this.reject(`unsupported ${handler.name} version ${apiVersion}`)
        return
      }
      const clientId = r.nullableString() ?? ''
      // Request header v2 (flexible versions) ends with a tagged-field section; none is used here.
      if (requestHeaderVersion(apiKey, apiVersion) >= 2) r.taggedFields()
      const ctx: RequestContext = {
        broker: this.broker,
        apiKey,
        apiVersion,
        correlationId,
        clientId,
        clientHost: this.clientHost,
        signal: this.abort.signal,
      }
      this.count(handler.name)
      if (apiKey === PRODUCE) {
        // Produce is pipelined: its appends start now (the log assigns offsets in call order and can
        // make several appends durable with one fsync), its response is written after the previous ones.
        this.pipeline(ctx, handler.handle(ctx, r))
        if (this.outstanding >= MAX_PIPELINED_PRODUCES) await this.tail
        return
      }
      // Anything else sees the effects of every earlier request, as with one-at-a-time processing.
      await this.tail
      const pending = handler.handle(ctx, r)
      const result = pending instanceof Promise ? await pending : pending
      if (result) await this.respond(correlationId, result, apiKey, apiVersion)
    } catch (error) {
      this.fail(error, apiKey, apiVersion)
    }
  }

  private pipeline(ctx: RequestContext, pending: HandlerResult | Promise<HandlerResult>): void {
    const previous = this.tail
    this.outstanding++
    this.tail = (async () => {
      try {
        const result = await pending
        await previous
        if (result && !this.closed) this.respond(ctx.correlationId, result, ctx.apiKey, ctx.apiVersion)
      } catch (error) {
        this.fail(error, ctx.apiKey, ctx.apiVersion)
      } finally {
        this.outstanding--
      }
    })()
  }

  private fail(error: unknown, apiKey: number, apiVersion: number): void {
    const name = API_NAMES.get(apiKey) ?? `API ${apiKey}`
    if (error instanceof ProtocolDecodeError || error instanceof RangeError) {
      this.reject(`malformed ${name} v${apiVersion} request: ${error.message}`)
    } else {
      this.broker.log('error', `request ${name} v${apiVersion} failed: ${String(error)}`, {
        stack: error instanceof Error ? error.stack : undefined,
      })
      this.reject('internal error')
    }
  }

  private count(name: string): void {
    this.stats.requests[name] = (this.stats.requests[name] ?? 0) + 1
  }

  /**
   * Writes the response: header v0 (correlation id) or v1 (plus an empty tagged-field section).
   * Deferred chunks (record data left in the log's segment files) are read STREAM_CHUNK bytes at a
   * time, each only once the socket has drained the one before: a reader that stops reading holds
   * one chunk of this broker's memory, not its whole fetch. Returns a promise when it streams.
   */
  private respond(
    correlationId: number,
    body: Writer,
    apiKey: number,
    apiVersion: number,
  ): Promise<void> | undefined {
    const chunks = body.toChunks()
    if (this.closed) {
      releaseDeferred(chunks)
      return undefined
    }
    const headerSize = responseHeaderVersion(apiKey, apiVersion) >= 1 ? 5 : 4
    const head = Buffer.allocUnsafe(4 + headerSize)
    head.writeInt32BE(headerSize + body.length, 0)
    head.writeInt32BE(correlationId, 4)
    if (headerSize === 5) head[8] = 0
    this.stats.bytesOut += 4 + headerSize + body.length
    if (body.hasDeferred()) return this.stream(head, chunks)
    const buffers = chunks as Buffer[]
    if (buffers.length === 1 && buffers[0].length < 4096) {
      this.socket.write(Buffer.concat([head, buffers[0]]))
      return undefined
    }
    this.socket.cork()
    this.socket.write(head)
    for (const c of buffers) this.socket.write(c)
    this.socket.uncork()
    if (this.socket.writableNeedDrain) {
      // Kafka's muting: read nothing more from this connection until the response has drained.
      this.muted = true
      this.updateReading()
    }
    return undefined
  }

  private async stream(head: Buffer, chunks: Chunk[]): Promise<void> {
    // Muted while streaming (as Kafka mutes a channel until its response is sent): no new request
    // is read from this connection, so it cannot pile up more responses behind a slow reader.
    this.streaming = true
    this.updateReading()
    try {
      this.socket.write(head)
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]
        if (!isDeferredBytes(c)) {
          if (!this.socket.write(c)) await this.drained()
          continue
        }
        for (let at = 0; at < c.length && !this.closed; ) {
          const piece = await c.read(at, Math.min(STREAM_CHUNK, c.length - at))
          if (piece.length === 0) throw new Error('log segment ended before the response did')
          at += piece.length
          if (this.closed) break
          if (!this.socket.write(piece)) await this.drained()
        }
        c.release()
        chunks[i] = EMPTY
      }
    } catch (error) {
      // A response cannot be sent in part: the client sees the connection close, and retries.
      this.broker.log('warn', `closing connection from ${this.clientHost}: ${String(error)}`)
      this.closed = true
      this.socket.destroy()
    } finally {
      releaseDeferred(chunks)
      this.streaming = false
      this.updateReading()
    }
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }
}

const EMPTY = Buffer.alloc(0)

function releaseDeferred(chunks: readonly Chunk[]): void {
  for (const c of chunks) if (isDeferredBytes(c)) c.release()
}
