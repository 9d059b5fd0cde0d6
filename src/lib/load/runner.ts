import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import { ExitCode, GameError, unreachableError, usageError } from '../errors.js'
import { emptyEntry, type Ledger, type LedgerEntry, sortEntries, writeLedger } from './ledger.js'
import { newOpenCounters, type OpenCounters, OpenLoop, type OpenRequest } from './open.js'
import {
  expandScenario,
  generatedPlayers,
  type LoadPlan,
  type PlannedRequest,
  type PlanPhase,
} from './plan.js'
import { loadScenario } from './scenario.js'
import {
  errorRatePct,
  evaluateThresholds,
  LatencyRecorder,
  type LatencySummary,
  type ThresholdBreach,
  type ThresholdCheck,
  type Thresholds,
  type TimelinePoint,
  thresholdChecks,
} from './stats.js'

export interface LoadOptions {
  /** Base URL of the game API. */
  url: string
  /** A built-in scenario name (seed, shop, guild-churn, messages, mixed) or a YAML/JSON file. */
  scenario: string
  /** Players given one by one (--host). */
  hosts?: string[]
  /** Generate this many players, player-0.example.com … (--hosts). */
  hostCount?: number
  /** A file with one player per line (--hosts-file); blank lines and # comments skipped. */
  hostsFile?: string
  /** Total requests (weight-based scenarios). */
  amount?: number
  /** Seconds to run (weight-based scenarios). */
  durationSec?: number
  /** Concurrent connections (closed model); the connections opened up front in the open model. Default 10. */
  connections?: number
  /**
   * Requests per second: the open model (request i due at t0 + i/R, latency from the due time).
   * Absent: the closed model (autocannon, each connection sends its next request when answered).
   */
  rate?: number
  /** Open model: the most connections it opens when all are busy; past that requests queue. Default 1000. */
  maxConnections?: number
  /** Open model: a request written more than this many ms after its due time counts as late. Default 10. */
  lateAfterMs?: number
  /** PRNG seed; a random one is drawn (and reported) when absent. */
  seed?: string | number
  /** Write the ledger here. */
  ledgerFile?: string
  thresholds?: Thresholds
  /** Seconds before a request without an answer counts as a timeout. Default 10. */
  timeoutSec?: number
}

export interface LoadProgress {
  model: LoadModel
  phase: number
  phases: number
  /** Requests answered so far (all phases). */
  done: number
  /** Requests planned in total, when known. */
  total?: number
  elapsedMs: number
  durationMs?: number
  /** Answered requests per second over the last interval; the run's overall rate when `final`. */
  rps: number
  /** p99 latency (ms) over the last interval (corrected in the open model); the run's when `final`. */
  p99: number
  /** Non-2xx answers plus requests lost to a timeout or connection error, so far. */
  errors: number
  /** Open model: requests sent late so far. */
  late: number
  /** The last call, after the run: rps and p99 are the run's, as in the summary. */
  final?: boolean
}

export interface LoadDeps {
  onProgress?: (progress: LoadProgress) => void
  signal?: AbortSignal
  /** Progress and timeline interval in ms (default 1000). */
  progressIntervalMs?: number
  /**
   * On abort: 'throw' the signal's reason after writing the ledger (default), or 'return' the partial
   * result with `interrupted: true` (the command prints it, then exits 130).
   */
  onAbort?: 'throw' | 'return'
}

/** closed: autocannon, -c connections each waiting for its answer; open: --rate, a schedule of due times. */
export type LoadModel = 'closed' | 'open'

export interface CountRow {
  sent: number
  accepted: number
  rejected: number
  unanswered: number
}

export interface LoadResult {
  url: string
  scenario: string
  seed: string
  /** This run's id, sent in every request's User-Agent (`game-load/1 (run ID)`); `game check` matches on it. */
  runId: string
  userAgent: string
  model: LoadModel
  /** Closed model: the connections; open model: the ones opened up front. */
  connections: number
  rate?: number
  /** Open model: the connection limit, and what the schedule needed. */
  open?: {
    maxConnections: number
    lateAfterMs: number
    peakConnections: number
    connectionsOpened: number
    peakQueue: number
  }
  /** Stopped by Ctrl-C (or SIGTERM): a partial result. */
  interrupted: boolean
  startedAt: string
  finishedAt: string
  durationMs: number
  requests: {
    sent: number
    /** Answered with any status. */
    answered: number
    /** 2xx. */
    accepted: number
    /** Answered non-2xx. */
    rejected: number
    /** Sent, no answer (timeouts, connection errors, or in flight when -d ran out or the run was stopped). */
    unanswered: number
    timeouts: number
    connectionErrors: number
    /**
     * In flight (or, open model, due but still queued) when -d ran out or the run was stopped: neither
     * answered nor errors, and not in the latency figures.
     */
    interrupted: number
    /** Open model: written more than `open.lateAfterMs` after their due time (0 in the closed model). */
    late: number
  }
  /** Answered requests per second, over the time phases were active (start to last answer). */
  rps: number
  /** The latency that counts: corrected (from the due time) in the open model, service time in the closed. */
  latency: LatencySummary
  /** Service time (written to answered), the same histogram as `latency` in the closed model. */
  serviceTime: LatencySummary
  /** [percentile, latency ms, service time ms] for the distribution chart. */
  distribution: [number, number, number][]
  /** One point per progress interval (1 s): rate, errors, late and latency percentiles of the interval. */
  timeline: TimelinePoint[]
  statusCodes: Record<string, number>
  errorRatePct: number
  players: ({ host: string } & CountRow)[]
  eventTypes: ({ eventType: string } & CountRow)[]
  /** checks: every threshold that was set, with its verdict; breaches: the failed ones. */
  thresholds: { limits: Thresholds; checks: ThresholdCheck[]; breaches: ThresholdBreach[]; passed: boolean }
  ledgerFile?: string
}

const API_HINT = 'Start it with `game api` (or `game up`), or point --url / GAME_API_URL at a running API.'

/** A value we can send as a Host header as is: printable ASCII, no spaces (IDN hosts go in punycode). */
export function isHostHeader(host: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(host)
}

/** Players from --host, --hosts N and --hosts-file; 10 generated players when none is given. */
export async function resolvePlayers(
  options: Pick<LoadOptions, 'hosts' | 'hostCount' | 'hostsFile'>,
): Promise<string[]> {
  const players = [...(options.hosts ?? [])]
  if (options.hostCount !== undefined) players.push(...generatedPlayers(options.hostCount))
  if (options.hostsFile) {
    let text: string
    try {
      text = await readFile(options.hostsFile, 'utf8')
    } catch (error) {
      throw usageError(
        `Cannot read --hosts-file ${options.hostsFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        'Give a file with one host name per line.',
      )
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const host = line.replace(/#.*/, '').trim()
      if (!host) return
      if (!isHostHeader(host)) {
        throw new GameError(
          'HOSTS_FILE_INVALID',
          `${options.hostsFile}:${i + 1}: "${host}" is not a host name`,
          {
            exitCode: ExitCode.usage,
            hint: 'One host name (printable ASCII, no spaces) per line; # starts a comment.',
          },
        )
      }
      players.push(host)
    })
  }
  for (const p of players) {
    if (!isHostHeader(p))
      throw usageError(`"${p}" is not a host name`, 'Host names are printable ASCII without spaces.')
  }
  return players.length > 0 ? [...new Set(players)] : generatedPlayers(10)
}

/** Resolves when something accepts TCP connections at the URL's host:port (no HTTP request, so no event). */
export async function probeApi(url: string, timeoutMs = 3000): Promise<void> {
  const u = new URL(url)
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  const host = u.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(unreachableError('The game API', url, API_HINT, new Error(`no answer within ${timeoutMs} ms`)))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.end()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(unreachableError('The game API', url, API_HINT, error))
    })
  })
}

interface Tally {
  entries: Map<string, LedgerEntry>
  statusCodes: Record<string, number>
  answered: number
  failed: number
  timeouts: number
  connectionErrors: number
  /** Per phase, from its start to its last answer, summed: the time rps is computed over. */
  activeMs: number
  /** Connection errors and timeouts seen so far (for progress). */
  liveErrors: number
  /** Answers, errors at the last progress interval. */
  intervalAnswered: number
  intervalErrors: number
}

function entryFor(tally: Tally, r: PlannedRequest): LedgerEntry {
  const key = `${r.host}\u0000${r.eventType}`
  let e = tally.entries.get(key)
  if (!e) {
    e = emptyEntry(r.host, r.eventType)
    tally.entries.set(key, e)
  }
  return e
}

/**
 * The part of autocannon's (9.0.0) HTTP client we hook: it writes `getRequestBuffer()` for every
 * request (pipelining 1: one request in flight per client), and the instance's `response` event names
 * the client. Pulling the plan there, instead of through `requests[].setupRequest` + `onResponse`, skips
 * autocannon's per-request rebuild, context deep-clone and response-header parsing (bench/load.ts).
 */
interface AutocannonClient {
  getRequestBuffer(): Buffer
  destroy(): void
  /** Resets a per-client context for `requests[].setupRequest` by deep-cloning it, on every request. */
  requestIterator?: { resetContext?: () => void }
}

/** The User-Agent of every request; a run adds its id: `game-load/1 (run 1a2b3c4d)`. */
export const USER_AGENT = 'game-load/1'

export function runUserAgent(runId: string): string {
  return `${USER_AGENT} (run ${runId})`
}

/** HTTP/1.1 request bytes of planned requests, cached (scenarios repeat the same requests a lot). */
export class RequestEncoder {
  private readonly cache = new Map<string, Buffer>()
  constructor(
    private readonly basePath: string,
    private readonly maxCached = 50_000,
    private readonly userAgent = USER_AGENT,
  ) {}

  encode(r: PlannedRequest): Buffer {
    const key =
      r.body === undefined ? `${r.method} ${r.host} ${r.path}` : `${r.method} ${r.host} ${r.path} ${r.body}`
    const hit = this.cache.get(key)
    if (hit) return hit
    const buf = this.build(r)
    if (this.cache.size < this.maxCached) this.cache.set(key, buf)
    return buf
  }

  /** The bytes of one request, not cached (for callers that keep them themselves). */
  build(r: PlannedRequest): Buffer {
    let head = `${r.method} ${this.basePath}${r.path} HTTP/1.1\r\nHost: ${r.host}\r\nUser-Agent: ${this.userAgent}\r\nAccept: */*\r\n`
    let buf: Buffer
    if (r.body !== undefined) {
      const body = Buffer.from(r.body)
      head += `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
      buf = Buffer.concat([Buffer.from(head, 'latin1'), body])
    } else {
      buf = Buffer.from(`${head}\r\n`, 'latin1')
    }
    return buf
  }
}

/** What a client has in flight (one request each, pipelining 1), kept on the client object itself. */
interface ClientSlot {
  /** The ledger entry of the request in flight; null between requests. */
  gameEntry: LedgerEntry | null
  /** Its `amount` (0 when it has none: adding 0 changes no sum). */
  gameAmount: number
}

/** Status code counts: an array indexed by code for 100..999, an object for anything else. */
class StatusCounts {
  private readonly counts = new Float64Array(1000)
  private readonly other: Record<string, number> = {}

  add(status: number): void {
    if (status >= 100 && status < 1000) this.counts[status]++
    else this.other[status] = (this.other[status] ?? 0) + 1
  }

  /** Codes in ascending order, like the object they used to be counted in. */
  toRecord(into: Record<string, number>): void {
    for (let code = 100; code < 1000; code++) {
      if (this.counts[code] > 0) into[code] = (into[code] ?? 0) + this.counts[code]
    }
    for (const [code, n] of Object.entries(this.other)) into[code] = (into[code] ?? 0) + n
  }
}

async function runClosedPhase(
  base: URL,
  phase: PlanPhase,
  options: { connections: number; timeoutSec: number; userAgent: string },
  tally: Tally,
  recorder: LatencyRecorder,
  signal?: AbortSignal,
): Promise<void> {
  const connections =
    phase.total !== undefined ? Math.min(options.connections, phase.total) : options.connections
  const encoder = new RequestEncoder(base.pathname.replace(/\/$/, ''), undefined, options.userAgent)
  // By request id (PlanPhase.nextId): its bytes, ledger entry and amount, made once per distinct request.
  const bytesOf: Buffer[] = []
  const entryOf: LedgerEntry[] = []
  const amountOf: number[] = []
  const requests = phase.requests
  const nextId = phase.nextId
  const nothing = Buffer.alloc(0)
  const statuses = new StatusCounts()
  const instance = autocannon({
    url: base.origin,
    connections,
    pipelining: 1,
    // autocannon notices the end of a run on this interval; the default 1 s adds up to a second per phase.
    sampleInt: 50,
    timeout: options.timeoutSec,
    ...(phase.total !== undefined ? { amount: phase.total } : { duration: (phase.durationMs ?? 0) / 1000 }),
    skipAggregateResult: true,
    // Each request is pulled from the plan when the client writes it (below), not built by autocannon.
    setupClient: (client: AutocannonClient & ClientSlot) => {
      if (typeof client.getRequestBuffer !== 'function' || typeof client.destroy !== 'function') {
        // autocannon is pinned (9.0.0); a version without these would silently send its default request.
        throw new GameError('LOAD_INTERNAL', 'This autocannon version has no Client.getRequestBuffer', {
          hint: 'Reinstall the autocannon version in package.json (9.0.0).',
        })
      }
      client.gameEntry = null
      client.gameAmount = 0
      // autocannon deep-clones an (empty) request context before every request; we use no context.
      const iterator = client.requestIterator
      if (iterator && typeof iterator.resetContext === 'function') iterator.resetContext = () => {}
      const stop = () => {
        // Only if autocannon asked for more than `amount` requests: send nothing more.
        client.destroy()
        return nothing
      }
      client.getRequestBuffer =
        nextId && requests
          ? () => {
              const id = nextId()
              if (id < 0) return stop()
              if (id === bytesOf.length) {
                // first time this request comes up (ids are handed out in order)
                const planned = requests[id]
                bytesOf.push(encoder.build(planned))
                entryOf.push(entryFor(tally, planned))
                amountOf.push(planned.amount ?? 0)
              }
              const e = entryOf[id]
              const amount = amountOf[id]
              client.gameEntry = e
              client.gameAmount = amount
              e.sent++
              e.sentAmount += amount
              return bytesOf[id]
            }
          : () => {
              const planned = phase.next()
              if (!planned) return stop()
              const e = entryFor(tally, planned)
              const amount = planned.amount ?? 0
              client.gameEntry = e
              client.gameAmount = amount
              e.sent++
              e.sentAmount += amount
              return encoder.encode(planned)
            }
    },
  } as unknown as autocannon.Options) as unknown as autocannon.Instance & Promise<autocannon.Result>
  instance.on('reqError', () => tally.liveErrors++)
  const phaseStart = Date.now()
  let lastResponse = phaseStart
  ;(instance as NodeJS.EventEmitter).on(
    'response',
    (client: AutocannonClient & ClientSlot, status: number, _bytes: number, ms: number) => {
      recorder.record(ms)
      lastResponse = Date.now()
      tally.answered++
      statuses.add(status)
      const e = client.gameEntry
      if (e === null) return
      client.gameEntry = null
      if (status >= 200 && status < 300) {
        e.accepted++
        e.acceptedAmount += client.gameAmount
      } else {
        e.rejected++
        tally.failed++
      }
    },
  )
  const onAbort = () => instance.stop()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const result = await instance
    statuses.toRecord(tally.statusCodes)
    tally.timeouts += result.timeouts ?? 0
    tally.connectionErrors += Math.max(0, (result.errors ?? 0) - (result.timeouts ?? 0))
    tally.activeMs += lastResponse - phaseStart
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/** Hands a phase's requests to the open loop (bytes, ledger entry and amount made once per request id). */
function openHooks(
  phase: PlanPhase,
  encoder: RequestEncoder,
  tally: Tally,
  statuses: StatusCounts,
  latency: LatencyRecorder,
  service: LatencyRecorder,
  onAnswer: () => void,
): { next(): OpenRequest | undefined; answer(r: OpenRequest, status: number, c: number, s: number): void } {
  const bytesOf: Buffer[] = []
  const entryOf: LedgerEntry[] = []
  const amountOf: number[] = []
  const requests = phase.requests
  const nextId = phase.nextId
  return {
    next:
      nextId && requests
        ? () => {
            const id = nextId()
            if (id < 0) return undefined
            if (id === bytesOf.length) {
              const planned = requests[id]
              bytesOf.push(encoder.build(planned))
              entryOf.push(entryFor(tally, planned))
              amountOf.push(planned.amount ?? 0)
            }
            return { bytes: bytesOf[id], entry: entryOf[id], amount: amountOf[id] }
          }
        : () => {
            const planned = phase.next()
            if (!planned) return undefined
            return {
              bytes: encoder.encode(planned),
              entry: entryFor(tally, planned),
              amount: planned.amount ?? 0,
            }
          },
    answer: (r, status, correctedMs, serviceMs) => {
      latency.record(correctedMs)
      service.record(serviceMs)
      tally.answered++
      statuses.add(status)
      if (status >= 200 && status < 300) {
        r.entry.accepted++
        r.entry.acceptedAmount += r.amount
      } else {
        r.entry.rejected++
        tally.failed++
      }
      onAnswer()
    },
  }
}

function totals(rows: Iterable<LedgerEntry>): CountRow {
  const t = { sent: 0, accepted: 0, rejected: 0, unanswered: 0 }
  for (const e of rows) {
    t.sent += e.sent
    t.accepted += e.accepted
    t.rejected += e.rejected
    t.unanswered += e.unanswered
  }
  return t
}

function groupBy<K extends 'host' | 'eventType'>(
  entries: LedgerEntry[],
  key: K,
): ({ [P in K]: string } & CountRow)[] {
  const groups = new Map<string, LedgerEntry[]>()
  for (const e of entries) {
    const k = e[key]
    if (!groups.has(k)) groups.set(k, [])
    groups.get(k)!.push(e)
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, list]) => ({ [key]: k, ...totals(list) }) as { [P in K]: string } & CountRow)
}

/** Default of --max-connections (open model). */
export const DEFAULT_MAX_CONNECTIONS = 1000
/** A request written more than this many ms after its due time is late (open model). */
export const DEFAULT_LATE_AFTER_MS = 10

/**
 * Runs a load scenario against the game API and returns what happened: request rate, latency
 * (corrected in the open model, service time in both), status codes, counts per player and event type,
 * a per-second timeline, threshold verdicts. Without `rate` the closed model runs (autocannon);
 * with it the open model (OpenLoop). Writes the ledger when asked. Throws UNREACHABLE (exit 4) before
 * sending anything when the API does not answer.
 */
export async function runLoad(options: LoadOptions, deps: LoadDeps = {}): Promise<LoadResult> {
  const connections = options.connections ?? 10
  if (!Number.isInteger(connections) || connections < 1) throw usageError('--connections must be >= 1')
  if (options.rate !== undefined && !(options.rate > 0 && Number.isFinite(options.rate)))
    throw usageError('--rate must be a number > 0')
  const maxConnections = options.maxConnections ?? Math.max(DEFAULT_MAX_CONNECTIONS, connections)
  if (!Number.isInteger(maxConnections) || maxConnections < connections)
    throw usageError('--max-connections must be a whole number >= -c/--connections')
  if (options.amount !== undefined && (!Number.isInteger(options.amount) || options.amount < 1))
    throw usageError('-n/--amount must be a whole number >= 1')
  if (options.durationSec !== undefined && !(options.durationSec > 0))
    throw usageError('-d/--duration must be > 0')
  let base: URL
  try {
    base = new URL(options.url)
  } catch {
    throw usageError(
      `--url ${options.url} is not a URL`,
      'Give http://host:port, e.g. http://127.0.0.1:5000.',
    )
  }
  if (options.rate !== undefined && base.protocol !== 'http:') {
    throw usageError(
      `--rate (the open model) speaks plain HTTP; ${base.protocol}// is not supported there`,
      'Drop --rate for the closed model, or point --url at the API over http://.',
    )
  }
  const scenario = await loadScenario(options.scenario)
  const players = await resolvePlayers(options)
  const seed = options.seed === undefined ? randomBytes(4).toString('hex') : String(options.seed)
  const plan: LoadPlan = expandScenario(scenario, {
    players,
    amount: options.amount,
    durationSec: options.durationSec,
    seed,
  })
  await probeApi(options.url)

  const model: LoadModel = options.rate ? 'open' : 'closed'
  const runId = randomBytes(4).toString('hex')
  const userAgent = runUserAgent(runId)
  const timeoutSec = options.timeoutSec ?? 10
  const lateAfterMs = options.lateAfterMs ?? DEFAULT_LATE_AFTER_MS
  const tally: Tally = {
    entries: new Map(),
    statusCodes: {},
    answered: 0,
    failed: 0,
    timeouts: 0,
    connectionErrors: 0,
    liveErrors: 0,
    activeMs: 0,
    intervalAnswered: 0,
    intervalErrors: 0,
  }
  const latency = new LatencyRecorder(model === 'open' ? 'corrected' : 'service-time')
  const service = model === 'open' ? new LatencyRecorder('service-time') : latency
  const counters: OpenCounters = newOpenCounters()
  const timeline: TimelinePoint[] = []
  const started = Date.now()
  const startedPerf = performance.now()
  let phaseIndex = 0
  let lastAt = startedPerf
  let lastLate = 0
  const errorsSoFar = () => tally.failed + tally.liveErrors + counters.timeouts + counters.connectionErrors
  /** Closes the current interval: a timeline point, and the live progress from it. */
  const tick = () => {
    const now = performance.now()
    const answered = tally.answered - tally.intervalAnswered
    const errors = errorsSoFar() - tally.intervalErrors
    const span = now - lastAt
    if (span <= 0) return
    const s = latency.snapshot()
    if (service !== latency) service.snapshot()
    const point: TimelinePoint = {
      t: Math.round((now - startedPerf) / 10) / 100,
      answered,
      rps: Math.round((answered * 100_000) / span) / 100,
      errors,
      late: counters.late - lastLate,
      p50: s.p50,
      p90: s.p90,
      p99: s.p99,
      p999: s.p999,
      max: s.max,
    }
    timeline.push(point)
    tally.intervalAnswered = tally.answered
    tally.intervalErrors = errorsSoFar()
    lastLate = counters.late
    lastAt = now
    deps.onProgress?.({
      model,
      phase: phaseIndex + 1,
      phases: plan.phases.length,
      done: tally.answered,
      total: plan.total,
      elapsedMs: Date.now() - started,
      durationMs: plan.durationMs,
      rps: Math.round(point.rps),
      p99: point.p99,
      errors: errorsSoFar(),
      late: counters.late,
    })
  }
  const timer = setInterval(tick, deps.progressIntervalMs ?? 1000)
  timer.unref()
  const loop =
    model === 'open'
      ? new OpenLoop(
          {
            host: base.hostname.replace(/^\[|\]$/g, ''),
            port: Number(base.port || 80),
            rate: options.rate!,
            initialConnections: connections,
            maxConnections,
            timeoutMs: timeoutSec * 1000,
            lateAfterMs,
          },
          counters,
        )
      : undefined
  try {
    if (loop) await loop.warm()
    const encoder = new RequestEncoder(base.pathname.replace(/\/$/, ''), undefined, userAgent)
    const statuses = new StatusCounts()
    for (; phaseIndex < plan.phases.length; phaseIndex++) {
      if (deps.signal?.aborted) break
      const phase = plan.phases[phaseIndex]
      if (loop) {
        const phaseStart = performance.now()
        let lastAnswer = phaseStart
        const hooks = openHooks(phase, encoder, tally, statuses, latency, service, () => {
          lastAnswer = performance.now()
        })
        await loop.runPhase(hooks, phase.durationMs, deps.signal)
        tally.activeMs += lastAnswer - phaseStart
      } else {
        await runClosedPhase(base, phase, { connections, timeoutSec, userAgent }, tally, latency, deps.signal)
      }
    }
    statuses.toRecord(tally.statusCodes)
  } finally {
    clearInterval(timer)
    loop?.close()
  }
  // The last, partial interval: a timeline point only when it is long enough for its rate to mean
  // something (a few ms of tail would plot as a bogus drop); its latencies count in the run either way.
  const intervalMs = deps.progressIntervalMs ?? 1000
  if (
    (tally.answered > tally.intervalAnswered || errorsSoFar() > tally.intervalErrors) &&
    performance.now() - lastAt >= intervalMs / 4
  ) {
    const progress = deps.onProgress
    deps.onProgress = undefined
    tick()
    deps.onProgress = progress
  }
  phaseIndex = Math.min(phaseIndex, plan.phases.length - 1)
  const finished = Date.now()
  const aborted = deps.signal?.aborted === true

  const entries = sortEntries(tally.entries.values())
  for (const e of entries) e.unanswered = e.sent - e.accepted - e.rejected
  const all = totals(entries)
  const durationMs = finished - started
  const activeMs = tally.activeMs > 0 ? tally.activeMs : durationMs
  const answered = all.accepted + all.rejected
  const rps = activeMs > 0 ? Math.round((answered * 100_000) / activeMs) / 100 : 0
  const timeouts = tally.timeouts + counters.timeouts
  const connectionErrors = tally.connectionErrors + counters.connectionErrors
  // Requests without an answer because of a timeout or connection error are errors; the ones still in
  // flight when -d ran out or the run was stopped are interrupted: neither errors nor in the latency.
  const lost = Math.min(all.unanswered, timeouts + connectionErrors)
  const interrupted = model === 'open' ? counters.interrupted : Math.max(0, all.unanswered - lost)
  const errRate = errorRatePct(answered + lost, all.rejected + lost)
  const latencySummary = latency.summary()
  const serviceSummary = service.summary()
  const dist = latency.distribution()
  const serviceDist = service.distribution()
  const limits = Object.fromEntries(
    Object.entries(options.thresholds ?? {}).filter(([, v]) => v !== undefined),
  ) as Thresholds
  const actual = { p99Ms: latencySummary.p99, errorRatePct: errRate, rps }
  const breaches = evaluateThresholds(actual, limits)
  deps.onProgress?.({
    model,
    phase: phaseIndex + 1,
    phases: plan.phases.length,
    done: tally.answered,
    total: plan.total,
    elapsedMs: durationMs,
    durationMs: plan.durationMs,
    rps: Math.round(rps),
    p99: latencySummary.p99,
    errors: all.rejected + lost,
    late: counters.late,
    final: true,
  })

  const result: LoadResult = {
    url: options.url,
    scenario: scenario.name,
    seed,
    runId,
    userAgent,
    model,
    connections,
    ...(options.rate ? { rate: options.rate } : {}),
    ...(loop
      ? {
          open: {
            maxConnections,
            lateAfterMs,
            peakConnections: counters.peakConnections,
            connectionsOpened: counters.connectionsOpened,
            peakQueue: counters.peakQueue,
          },
        }
      : {}),
    interrupted: aborted,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs,
    requests: {
      sent: all.sent,
      answered,
      accepted: all.accepted,
      rejected: all.rejected,
      unanswered: all.unanswered,
      timeouts,
      connectionErrors,
      interrupted,
      late: counters.late,
    },
    rps,
    latency: latencySummary,
    serviceTime: serviceSummary,
    distribution: dist.map(([q, ms], i) => [q, ms, serviceDist[i]?.[1] ?? 0]),
    timeline,
    statusCodes: tally.statusCodes,
    errorRatePct: errRate,
    players: groupBy(entries, 'host'),
    eventTypes: groupBy(entries, 'eventType'),
    thresholds: { limits, checks: thresholdChecks(actual, limits), breaches, passed: breaches.length === 0 },
  }
  if (options.ledgerFile) {
    const ledger: Ledger = {
      formatVersion: 1,
      url: options.url,
      scenario: scenario.name,
      seed,
      runId,
      userAgent,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      entries,
    }
    await writeLedger(options.ledgerFile, ledger)
    result.ledgerFile = options.ledgerFile
  }
  if (aborted && deps.onAbort !== 'return') {
    throw deps.signal!.reason instanceof Error
      ? deps.signal!.reason
      : new GameError('INTERRUPTED', 'Load run interrupted', { exitCode: ExitCode.interrupted })
  }
  return result
}

/**
 * Why a finished run fails, if it does, in order: interrupted (130), no request accepted (5, with a
 * hint from what the API answered), thresholds breached (5). undefined: exit 0.
 */
export function loadFailure(r: LoadResult): GameError | undefined {
  if (r.interrupted) {
    return new GameError('INTERRUPTED', 'Load run interrupted; the summary above is partial', {
      exitCode: ExitCode.interrupted,
      hint: r.ledgerFile ? `The ledger ${r.ledgerFile} holds what was sent until then.` : undefined,
    })
  }
  if (r.requests.sent > 0 && r.requests.accepted === 0) {
    const codes = Object.keys(r.statusCodes).map(Number)
    const hint =
      r.requests.answered === 0
        ? 'No request got an answer: check --url and that the API is up (`game status`, `game logs`).'
        : codes.every((c) => c >= 500)
          ? `The API answered ${codes.join(', ')} to every request: it could not produce to Kafka? Run \`game status\` and \`game logs\`.`
          : codes.every((c) => c >= 400 && c < 500)
            ? `The API refused every request (${codes.join(', ')}): check the scenario's paths and parameters against \`game api --help\`.`
            : `The API accepted none of the requests (status codes ${codes.join(', ')}): run \`game logs\`.`
    return new GameError('NOTHING_ACCEPTED', `No request was accepted: 0 of ${r.requests.sent} got a 2xx`, {
      exitCode: ExitCode.checkFailed,
      hint,
    })
  }
  if (!r.thresholds.passed) {
    return new GameError(
      'THRESHOLDS_BREACHED',
      `Load thresholds breached: ${r.thresholds.breaches.map((b) => b.message).join('; ')}`,
      {
        exitCode: ExitCode.checkFailed,
        hint: 'Look at the API and broker (game status, game logs), or relax --max-p99 / --max-error-rate / --min-rps.',
        details: { breaches: r.thresholds.breaches },
      },
    )
  }
  return undefined
}
