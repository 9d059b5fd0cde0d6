import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import autocannon from 'autocannon'
import { ExitCode, GameError, unreachableError, usageError } from '../errors.js'
import { emptyEntry, type Ledger, type LedgerEntry, sortEntries, writeLedger } from './ledger.js'
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
  type Thresholds,
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
  /** Concurrent connections (closed loop). Default 10. */
  connections?: number
  /** Overall requests per second (open model, autocannon's limiter). */
  rate?: number
  /** PRNG seed; a random one is drawn (and reported) when absent. */
  seed?: string | number
  /** Write the ledger here. */
  ledgerFile?: string
  thresholds?: Thresholds
  /** Seconds before a request without an answer counts as a timeout. Default 10. */
  timeoutSec?: number
}

export interface LoadProgress {
  phase: number
  phases: number
  /** Requests answered so far (all phases). */
  done: number
  /** Requests planned in total, when known. */
  total?: number
  elapsedMs: number
  durationMs?: number
  /** Answered requests per second over the last interval. */
  rps: number
  /** Non-2xx answers plus requests without an answer, so far. */
  errors: number
}

export interface LoadDeps {
  onProgress?: (progress: LoadProgress) => void
  signal?: AbortSignal
  /** Progress interval in ms (default 1000). */
  progressIntervalMs?: number
}

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
  connections: number
  rate?: number
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
    /** Sent, no answer (timeouts, connection errors, or still in flight when -d ran out). */
    unanswered: number
    timeouts: number
    connectionErrors: number
  }
  /** Answered requests per second, over the time phases were active (start to last answer). */
  rps: number
  latency: LatencySummary
  statusCodes: Record<string, number>
  errorRatePct: number
  players: ({ host: string } & CountRow)[]
  eventTypes: ({ eventType: string } & CountRow)[]
  thresholds: { limits: Thresholds; breaches: ThresholdBreach[]; passed: boolean }
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

/** HTTP/1.1 request bytes of planned requests, cached (scenarios repeat the same requests a lot). */
export class RequestEncoder {
  private readonly cache = new Map<string, Buffer>()
  constructor(
    private readonly basePath: string,
    private readonly maxCached = 50_000,
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
    let head = `${r.method} ${this.basePath}${r.path} HTTP/1.1\r\nHost: ${r.host}\r\nUser-Agent: game-load/1\r\nAccept: */*\r\n`
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

async function runPhase(
  base: URL,
  phase: PlanPhase,
  options: { connections: number; rate?: number; timeoutSec: number },
  tally: Tally,
  recorder: LatencyRecorder,
  signal?: AbortSignal,
): Promise<void> {
  const connections =
    phase.total !== undefined ? Math.min(options.connections, phase.total) : options.connections
  const encoder = new RequestEncoder(base.pathname.replace(/\/$/, ''))
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
    // With a rate, never let autocannon apply its coordinated-omission "correction" (wrong interval);
    // we record service time ourselves either way.
    ...(options.rate ? { overallRate: options.rate, ignoreCoordinatedOmission: true } : {}),
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

/**
 * Runs a load scenario against the game API with autocannon and returns what happened: request rate,
 * service-time latency, status codes, counts per player and event type, threshold verdicts. Writes the
 * ledger when asked. Throws UNREACHABLE (exit 4) before sending anything when the API does not answer.
 */
export async function runLoad(options: LoadOptions, deps: LoadDeps = {}): Promise<LoadResult> {
  const connections = options.connections ?? 10
  if (!Number.isInteger(connections) || connections < 1) throw usageError('--connections must be >= 1')
  if (options.rate !== undefined && !(options.rate > 0)) throw usageError('--rate must be > 0')
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

  const tally: Tally = {
    entries: new Map(),
    statusCodes: {},
    answered: 0,
    failed: 0,
    timeouts: 0,
    connectionErrors: 0,
    liveErrors: 0,
    activeMs: 0,
  }
  const recorder = new LatencyRecorder()
  const started = Date.now()
  let phaseIndex = 0
  let lastDone = 0
  let lastAt = started
  const report = () => {
    const now = Date.now()
    const rps = now > lastAt ? ((tally.answered - lastDone) * 1000) / (now - lastAt) : 0
    lastDone = tally.answered
    lastAt = now
    deps.onProgress?.({
      phase: phaseIndex + 1,
      phases: plan.phases.length,
      done: tally.answered,
      total: plan.total,
      elapsedMs: now - started,
      durationMs: plan.durationMs,
      rps: Math.round(rps),
      errors: tally.failed + tally.liveErrors,
    })
  }
  const timer = deps.onProgress ? setInterval(report, deps.progressIntervalMs ?? 1000) : undefined
  try {
    for (; phaseIndex < plan.phases.length; phaseIndex++) {
      if (deps.signal?.aborted) break
      await runPhase(
        base,
        plan.phases[phaseIndex],
        { connections, rate: options.rate, timeoutSec: options.timeoutSec ?? 10 },
        tally,
        recorder,
        deps.signal,
      )
    }
  } finally {
    if (timer) clearInterval(timer)
  }
  phaseIndex = Math.min(phaseIndex, plan.phases.length - 1)
  const finished = Date.now()

  const entries = sortEntries(tally.entries.values())
  for (const e of entries) e.unanswered = e.sent - e.accepted - e.rejected
  const all = totals(entries)
  const durationMs = finished - started
  const activeMs = tally.activeMs > 0 ? tally.activeMs : durationMs
  const rps = activeMs > 0 ? Math.round(((all.accepted + all.rejected) * 100_000) / activeMs) / 100 : 0
  const latency = recorder.summary()
  // Requests without an answer because of a timeout or connection error are errors; the ones merely
  // still in flight when -d ran out (at most one per connection) are neither errors nor counted.
  const lost = Math.min(all.unanswered, tally.timeouts + tally.connectionErrors)
  const errRate = errorRatePct(all.accepted + all.rejected + lost, all.rejected + lost)
  const limits = options.thresholds ?? {}
  const breaches = evaluateThresholds({ p99Ms: latency.p99, errorRatePct: errRate, rps }, limits)
  if (deps.onProgress) report()

  const result: LoadResult = {
    url: options.url,
    scenario: scenario.name,
    seed,
    connections,
    ...(options.rate ? { rate: options.rate } : {}),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs,
    requests: {
      sent: all.sent,
      answered: all.accepted + all.rejected,
      accepted: all.accepted,
      rejected: all.rejected,
      unanswered: all.unanswered,
      timeouts: tally.timeouts,
      connectionErrors: tally.connectionErrors,
    },
    rps,
    latency,
    statusCodes: tally.statusCodes,
    errorRatePct: errRate,
    players: groupBy(entries, 'host'),
    eventTypes: groupBy(entries, 'eventType'),
    thresholds: { limits, breaches, passed: breaches.length === 0 },
  }
  if (options.ledgerFile) {
    const ledger: Ledger = {
      formatVersion: 1,
      url: options.url,
      scenario: scenario.name,
      seed,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      entries,
    }
    await writeLedger(options.ledgerFile, ledger)
    result.ledgerFile = options.ledgerFile
  }
  if (deps.signal?.aborted) {
    throw deps.signal.reason instanceof Error
      ? deps.signal.reason
      : new GameError('INTERRUPTED', 'Load run interrupted', { exitCode: ExitCode.interrupted })
  }
  return result
}
