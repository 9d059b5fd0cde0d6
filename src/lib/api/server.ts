import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { Kafka } from 'kafkajs'
import { ExitCode, GameError } from '../errors.js'
import {
  buildEvent,
  DEFAULT_PRICES,
  type EventTypeSpec,
  eventKey,
  keptHeaders,
  type Prices,
  routeTable,
  validateParams,
} from '../events/index.js'
import { createKafka } from '../kafka/client.js'
import { createEventProducer, type EventProducer } from '../kafka/producer.js'
import { ApiMetrics } from './metrics.js'
import {
  drainBody,
  hostHeaderCount,
  MAX_DRAIN_BYTES,
  MAX_DRAIN_MS,
  mediaType,
  parseForm,
  readBody,
  splitTarget,
  wantsJson,
} from './request.js'

export const MAX_BODY_BYTES = 64 * 1024
export const RETRY_AFTER_SECONDS = 1

export interface ApiOptions {
  /** TCP port; 0 picks a free one. */
  port: number
  bind: string
  brokers: string[]
  topic: string
  prices?: Prices
  /** Log one line per request (off by default). */
  logRequests?: boolean
  /** Group-commit tuning, see createEventProducer. */
  lingerMs?: number
  maxBatch?: number
  maxInFlight?: number
  /** Produce through kafkajs instead of the lean producer (for comparison; default false). */
  kafkajs?: boolean
  /** A produce with no ack after this long answers 503. Default 5000 ms. */
  produceTimeoutMs?: number
  /** close() waits this long for in-flight requests before dropping connections. Default 10 s. */
  drainTimeoutMs?: number
}

export interface ApiLogger {
  info(message: string): void
  warn(message: string): void
  debug?(message: string): void
}

export interface ApiDeps {
  /** A kafkajs client to produce through; default: the lean producer over options.brokers. */
  kafka?: Kafka
  log?: ApiLogger
  now?: () => Date
  newId?: () => string
  /** Broker reachability probe for /healthz; default: a TCP connect to the first reachable broker. */
  probeBroker?: () => Promise<boolean>
}

export interface ApiServer {
  url: string
  port: number
  metrics: ApiMetrics
  producer: EventProducer
  /** Stops accepting, finishes in-flight requests and their produces, disconnects. Idempotent. */
  close(): Promise<void>
}

interface ErrorBody {
  code: string
  message: string
  field?: string
  rule?: string
  reason?: string
}

const NO_LOG: ApiLogger = { info() {}, warn() {} }

/** Connects to host:port; true when the TCP handshake completes within timeoutMs. */
export function tcpProbe(address: string, timeoutMs = 1000): Promise<boolean> {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[|\]$/g, '')
  const port = Number(address.slice(i + 1))
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Starts the game HTTP API: one route per catalog entry, each request validated, turned into an
 * event with its envelope, produced with key = Host and acks = all, and answered only after the ack.
 */
export async function startApi(options: ApiOptions, deps: ApiDeps = {}): Promise<ApiServer> {
  const log = deps.log ?? NO_LOG
  const now = deps.now ?? (() => new Date())
  const newId = deps.newId ?? randomUUID
  const prices = options.prices ?? DEFAULT_PRICES
  const metrics = new ApiMetrics()
  const routes = routeTable()
  const methodsByPath = new Map<string, string[]>()
  for (const key of routes.keys()) {
    const [method, path] = key.split(' ')
    methodsByPath.set(path, [...(methodsByPath.get(path) ?? []), method])
  }
  methodsByPath.set('/healthz', ['GET'])
  methodsByPath.set('/metrics', ['GET'])

  // Default: the lean producer (lean-producer.ts, about 10x less CPU per event than kafkajs);
  // a kafkajs client passed in deps, or `kafkajs: true`, produces through kafkajs instead.
  const kafka =
    deps.kafka ??
    (options.kafkajs
      ? createKafka({
          brokers: options.brokers,
          clientId: 'game-api',
          level: 'error',
          retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
          log: (line) => log.debug?.(`kafka ${line.namespace}: ${line.message}`),
        })
      : undefined)
  let probeCache: { at: number; ok: boolean } | undefined
  const producer = createEventProducer({
    kafka,
    brokers: options.brokers,
    clientId: 'game-api',
    topic: options.topic,
    lingerMs: options.lingerMs,
    maxBatch: options.maxBatch,
    maxInFlight: options.maxInFlight,
    timeoutMs: options.produceTimeoutMs,
    onBatch: ({ size, latencyMs, ok, error }) => {
      metrics.batchSize.observe(size)
      metrics.produceLatency.observe(latencyMs / 1000)
      if (!ok) {
        // A failed produce makes the next /healthz probe again rather than trust the cached answer.
        probeCache = undefined
        log.warn(`produce of ${size} event(s) failed: ${error?.message}`)
      }
    },
  })

  const probeBroker =
    deps.probeBroker ??
    (async () => {
      for (const b of options.brokers) if (await tcpProbe(b)) return true
      return false
    })
  const brokerReachable = async (): Promise<boolean> => {
    const t = Date.now()
    if (probeCache && t - probeCache.at < 1000) return probeCache.ok
    const ok = await probeBroker()
    probeCache = { at: Date.now(), ok }
    return ok
  }

  let closing = false
  const idleWaiters: (() => void)[] = []

  const send = (
    res: ServerResponse,
    route: string,
    method: string,
    status: number,
    body: string,
    contentType: string,
    headers?: Record<string, string>,
  ) => {
    metrics.request(route, method, status)
    if (res.headersSent || res.destroyed) return
    // The flat-array form of writeHead: no intermediate header object per response.
    const list: string[] = ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(body))]
    if (closing && headers?.Connection === undefined) list.push('Connection', 'close')
    if (headers) for (const name in headers) list.push(name, headers[name])
    res.writeHead(status, list)
    res.end(body)
  }
  const sendError = (
    res: ServerResponse,
    route: string,
    method: string,
    status: number,
    error: ErrorBody,
    headers: Record<string, string> = {},
  ) => {
    metrics.rejection(error.reason ?? error.code)
    send(
      res,
      route,
      method,
      status,
      `${JSON.stringify({ ok: false, error })}\n`,
      'application/json; charset=utf-8',
      headers,
    )
  }

  const handleEvent = async (
    req: IncomingMessage,
    res: ServerResponse,
    spec: EventTypeSpec,
    path: string,
    query: string,
  ) => {
    const method = req.method ?? 'GET'
    let input: Record<string, unknown>
    if (method === 'POST') {
      const body = await readBody(req, MAX_BODY_BYTES)
      if (!body.ok) {
        if (body.reason === 'aborted') {
          metrics.rejection('aborted')
          return
        }
        // Read (and drop) the rest of the upload, up to a bound, before answering: closing with
        // unread data makes the kernel send a reset and most clients never see the 413.
        await drainBody(req, MAX_DRAIN_BYTES, MAX_DRAIN_MS)
        res.shouldKeepAlive = false
        return sendError(
          res,
          path,
          method,
          413,
          {
            code: 'PAYLOAD_TOO_LARGE',
            message: `request body must be at most ${MAX_BODY_BYTES} bytes`,
            reason: 'body_too_large',
          },
          { Connection: 'close' },
        )
      }
      const type = mediaType(req.headers['content-type'])
      if (type === 'application/json') {
        let parsed: unknown
        try {
          parsed = JSON.parse(new TextDecoder().decode(body.body))
        } catch {
          parsed = undefined
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          return sendError(res, path, method, 400, {
            code: 'INVALID_BODY',
            message: 'body must be a JSON object',
            field: 'body',
            rule: 'body must be a JSON object',
            reason: 'bad_json',
          })
        }
        input = parsed as Record<string, unknown>
      } else if (type === 'application/x-www-form-urlencoded') {
        input = parseForm(body.body)
      } else {
        return sendError(res, path, method, 415, {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'send application/json or application/x-www-form-urlencoded',
          reason: 'unsupported_media_type',
        })
      }
    } else {
      input = parseForm(query)
    }

    const checked = validateParams(spec, input)
    if (!checked.ok) {
      const { field, rule, reason } = checked.error
      return sendError(res, path, method, 400, { code: 'INVALID_PARAM', message: rule, field, rule, reason })
    }
    const event = buildEvent({
      type: spec.type,
      fields: spec.build(checked.params, prices),
      headers: keptHeaders(req.headers),
      eventId: newId(),
      receivedAt: now(),
    })
    try {
      await producer.send(eventKey(event), JSON.stringify(event))
    } catch (error) {
      const code = (error as GameError).code ?? 'PRODUCE_FAILED'
      return sendError(
        res,
        path,
        method,
        503,
        {
          code: 'BROKER_UNAVAILABLE',
          message: `event not stored: ${(error as Error).message}`,
          reason: code === 'PRODUCE_TIMEOUT' ? 'produce_timeout' : 'broker_unavailable',
        },
        { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      )
    }
    metrics.produced.incKey(spec.type, () => ({ event_type: spec.type }))
    if (wantsJson(req.headers.accept)) {
      send(
        res,
        path,
        method,
        200,
        `${JSON.stringify({ ok: true, event_id: event.event_id })}\n`,
        'application/json; charset=utf-8',
      )
    } else {
      send(res, path, method, 200, spec.response, 'text/plain; charset=utf-8')
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET'
    if (hostHeaderCount(req.rawHeaders) > 1) {
      // RFC 9112 3.2: more than one Host header is a 400 (Host is the player; which one would win?).
      // A missing one is Node's business: it refuses HTTP/1.1 without Host (requireHostHeader).
      return sendError(res, 'unknown', method, 400, {
        code: 'BAD_HOST',
        message: 'send exactly one Host header',
        reason: 'bad_host',
      })
    }
    const { path, query } = splitTarget(req.url ?? '/')
    const spec = routes.get(`${method} ${path}`)
    if (spec) return handleEvent(req, res, spec, path, query)
    const allowed = methodsByPath.get(path)
    if (!allowed) {
      return sendError(res, 'unknown', method, 404, {
        code: 'NOT_FOUND',
        message: 'no such route',
        reason: 'not_found',
      })
    }
    if (!allowed.includes(method)) {
      return sendError(
        res,
        path,
        method,
        405,
        { code: 'METHOD_NOT_ALLOWED', message: `use ${allowed.join(', ')}`, reason: 'method_not_allowed' },
        { Allow: allowed.join(', ') },
      )
    }
    if (path === '/metrics') {
      return send(res, path, method, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8')
    }
    // /healthz
    const up = await brokerReachable()
    const body = {
      ok: up && !closing,
      api: closing ? 'closing' : 'up',
      broker: up ? 'reachable' : 'unreachable',
      brokers: options.brokers,
      topic: options.topic,
    }
    send(
      res,
      path,
      method,
      body.ok ? 200 : 503,
      `${JSON.stringify(body)}\n`,
      'application/json; charset=utf-8',
    )
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    metrics.inFlight++
    const started = performance.now()
    handle(req, res)
      .catch((error: unknown) => {
        log.warn(`request ${req.method} ${req.url} failed: ${(error as Error).stack ?? error}`)
        sendError(res, 'unknown', req.method ?? '', 500, {
          code: 'INTERNAL',
          message: 'internal error',
          reason: 'internal',
        })
      })
      .finally(() => {
        metrics.inFlight--
        if (options.logRequests) {
          log.info(
            `${req.method} ${JSON.stringify(req.url)} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`,
          )
        }
        if (metrics.inFlight === 0) for (const w of idleWaiters.splice(0)) w()
      })
  })
  // Malformed requests (bad header bytes, oversized headers) never reach the handler: answer and count.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that hung up is not a bad request.
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy()
      return
    }
    const reason = error.code === 'HPE_HEADER_OVERFLOW' ? 'header_too_large' : 'bad_request'
    metrics.rejection(reason)
    metrics.request('unknown', '', reason === 'header_too_large' ? 431 : 400)
    if (socket.writable && !(socket as net.Socket).destroyed) {
      socket.end(
        reason === 'header_too_large'
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      )
    } else {
      socket.destroy()
    }
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new GameError(
          'API_LISTEN_FAILED',
          `Cannot listen on ${options.bind}:${options.port}: ${error.message}`,
          {
            exitCode: error.code === 'EADDRINUSE' ? ExitCode.config : ExitCode.failure,
            hint:
              error.code === 'EADDRINUSE'
                ? 'Another process holds the port: pick another with --port or GAME_API_PORT.'
                : 'Check --bind and --port.',
            cause: error,
          },
        ),
      )
    }
    server.once('error', onError)
    server.listen(options.port, options.bind, () => {
      server.off('error', onError)
      resolve()
    })
  })
  void brokerReachable().then((ok) => {
    if (!ok) {
      log.warn(
        `Kafka at ${options.brokers.join(',')} is not reachable: answering 503 until it is (run \`game up\` or set --brokers)`,
      )
    }
  })
  const address = server.address() as net.AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`

  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    if (closed) return closed
    closing = true
    closed = (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (metrics.inFlight > 0) {
        const drained = new Promise<void>((resolve) => idleWaiters.push(resolve))
        let timer: NodeJS.Timeout | undefined
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, options.drainTimeoutMs ?? 10_000)
        })
        await Promise.race([drained, deadline])
        clearTimeout(timer)
      }
      await producer.close()
      server.closeAllConnections()
      await stopped
    })()
    return closed
  }

  return { url, port: address.port, metrics, producer, close }
}
