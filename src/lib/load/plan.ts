import { usageError } from '../errors.js'
import { routeTable } from '../events/catalog.js'
import { createRng, type Rng, stableIndex } from './prng.js'
import { type Scenario, type ScenarioStep, scenarioKind, type ValueSpec } from './scenario.js'

/** One HTTP request the run will send. */
export interface PlannedRequest {
  method: 'GET' | 'POST'
  /** Path with its query string, percent-encoded. */
  path: string
  /** The player: sent as the Host header. */
  host: string
  /** The catalog event type of the route, or "unknown" for a path outside the catalog. */
  eventType: string
  /** JSON body (POST). */
  body?: string
  /** The `amount` parameter when it is a number (add_money), summed in the ledger. */
  amount?: number
}

/** A phase of a run: its requests come out of next(); phases run one after the other. */
export interface PlanPhase {
  phase: number
  /** Exactly this many requests (count-based scenarios, or weight-based with -n). */
  total?: number
  /** Run for this long (weight-based with -d). */
  durationMs?: number
  /** The next request; undefined once `total` requests were handed out. */
  next(): PlannedRequest | undefined
  /**
   * The same sequence as next() (use one or the other), as ids into `requests`: equal requests share
   * an id, and ids are handed out in order of first appearance (a new id is `requests.length - 1`).
   * -1 once `total` requests were handed out. Lets the runner keep per-request work (HTTP bytes,
   * ledger entry) in arrays indexed by id instead of rebuilding and looking it up for every request.
   * Absent when the phase's distinct requests could be too many to keep (see MAX_INTERNED).
   */
  nextId?(): number
  /** The distinct requests handed out by nextId() so far, by id. */
  requests?: PlannedRequest[]
}

export interface LoadPlan {
  scenario: string
  kind: 'count' | 'weight'
  phases: PlanPhase[]
  /** Requests in total when known in advance. */
  total?: number
  durationMs?: number
}

export interface PlanOptions {
  /** The run's players (Host headers), for steps that name none. */
  players: string[]
  /** Total requests for weight-based scenarios. */
  amount?: number
  /** Duration in seconds for weight-based scenarios. */
  durationSec?: number
  seed: string | number
  /** Intern requests (PlanPhase.nextId); default true. false: the plain generator (tests compare both). */
  intern?: boolean
}

/**
 * A weight-based phase gets nextId() only when its steps can produce at most this many distinct
 * requests (players x random choices), which bounds the memory the interned requests (and the
 * runner's bytes per request) can take; larger phases use the plain generator.
 */
export const MAX_INTERNED = 250_000

/** Weight-based scenarios without -n or -d send this many requests. */
export const DEFAULT_AMOUNT = 1000

const ROUTES = routeTable()

export function eventTypeOf(method: string, path: string): string {
  return ROUTES.get(`${method} ${path}`)?.type ?? 'unknown'
}

/** `player-0.example.com` … `player-(n-1).example.com`. */
export function generatedPlayers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `player-${i}.example.com`)
}

function resolveValue(
  spec: ValueSpec,
  rng: Rng,
  seed: string | number,
  host: string,
  name: string,
): string | number {
  if (typeof spec === 'string' || typeof spec === 'number') return spec
  if ('int' in spec) return rng.int(spec.int[0], spec.int[1])
  if ('oneOf' in spec) return rng.pick(spec.oneOf)
  return spec.perPlayer[stableIndex(seed, `${host}\u0000${name}`, spec.perPlayer.length)]
}

/** Builds one concrete request of a step for a player; random values come from rng. */
export function buildRequest(
  step: ScenarioStep,
  host: string,
  rng: Rng,
  seed: string | number,
): PlannedRequest {
  let path = step.path
  let amount: number | undefined
  const note = (name: string, value: string | number) => {
    if (name === 'amount' && typeof value === 'number') amount = value
    if (name === 'amount' && typeof value === 'string' && /^\d+$/.test(value)) amount = Number(value)
  }
  if (step.query) {
    const parts: string[] = []
    for (const [name, spec] of Object.entries(step.query)) {
      const value = resolveValue(spec, rng, seed, host, name)
      note(name, value)
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    }
    if (parts.length) path += `?${parts.join('&')}`
  }
  const request: PlannedRequest = {
    method: step.method,
    path,
    host,
    eventType: eventTypeOf(step.method, step.path),
  }
  if (step.body) {
    const body: Record<string, string | number> = {}
    for (const [name, spec] of Object.entries(step.body)) {
      body[name] = resolveValue(spec, rng, seed, host, name)
      note(name, body[name])
    }
    request.body = JSON.stringify(body)
  }
  if (amount !== undefined) request.amount = amount
  return request
}

/** Splits n into parts proportional to weights (largest remainder), summing exactly to n. */
export function apportion(n: number, weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map((w) => (n * w) / total)
  const out = exact.map(Math.floor)
  let left = n - out.reduce((a, b) => a + b, 0)
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (const [, i] of order) {
    if (left <= 0) break
    out[i]++
    left--
  }
  return out
}

function byPhase(steps: ScenarioStep[]): Map<number, ScenarioStep[]> {
  const phases = new Map<number, ScenarioStep[]>()
  for (const s of steps) {
    const p = s.phase ?? 1
    if (!phases.has(p)) phases.set(p, [])
    phases.get(p)!.push(s)
  }
  return new Map([...phases.entries()].sort((a, b) => a[0] - b[0]))
}

/**
 * Expands a scenario into phases of concrete requests. Count-based: every step's count per player, in
 * step order. Weight-based: each request picks a step by weight and a player at random; -n is split
 * over the phases by their weight, and so is -d. Same seed, same requests.
 */
export function expandScenario(scenario: Scenario, options: PlanOptions): LoadPlan {
  const kind = scenarioKind(scenario)
  const rng = createRng(options.seed)
  const phases: PlanPhase[] = []
  if (kind === 'count') {
    if (options.amount !== undefined || options.durationSec !== undefined) {
      throw usageError(
        `Scenario "${scenario.name}" sends exact counts; -n/--amount and -d/--duration do not apply`,
        'Drop -n/-d, or use a weight-based scenario (shop, guild-churn, messages, mixed).',
      )
    }
    let total = 0
    for (const [phase, steps] of byPhase(scenario.steps)) {
      const list: PlannedRequest[] = []
      for (const step of steps) {
        const players = step.players ?? options.players
        for (const host of players) {
          for (let i = 0; i < step.count!; i++) list.push(buildRequest(step, host, rng, options.seed))
        }
      }
      if (list.length === 0) continue
      total += list.length
      if (options.intern === false) {
        let i = 0
        phases.push({ phase, total: list.length, next: () => list[i++] })
        continue
      }
      const requests: PlannedRequest[] = []
      const known = new Map<string, number>()
      const ids = new Int32Array(list.length)
      list.forEach((r, j) => {
        const key = `${r.method} ${r.host} ${r.path} ${r.body ?? ''}`
        let id = known.get(key)
        if (id === undefined) {
          id = requests.length
          requests.push(r)
          known.set(key, id)
        }
        ids[j] = id
      })
      let i = 0
      const nextId = () => (i < ids.length ? ids[i++] : -1)
      phases.push({
        phase,
        total: list.length,
        requests,
        nextId,
        next: () => {
          const id = nextId()
          return id < 0 ? undefined : requests[id]
        },
      })
    }
    return { scenario: scenario.name, kind, phases, total }
  }

  if (options.amount !== undefined && options.durationSec !== undefined) {
    throw usageError('Give -n/--amount or -d/--duration, not both')
  }
  const grouped = [...byPhase(scenario.steps)]
  const phaseWeights = grouped.map(([, steps]) => steps.reduce((a, s) => a + (s.weight ?? 0), 0))
  const amount = options.durationSec === undefined ? (options.amount ?? DEFAULT_AMOUNT) : undefined
  const counts = amount === undefined ? undefined : apportion(amount, phaseWeights)
  const durationMs = options.durationSec === undefined ? undefined : options.durationSec * 1000
  const durations = durationMs === undefined ? undefined : apportion(durationMs, phaseWeights)
  grouped.forEach(([phase, steps], idx) => {
    const weights = steps.map((s) => s.weight ?? 0)
    const limit = counts?.[idx]
    if (limit === 0 || durations?.[idx] === 0) return
    const interned = options.intern === false ? undefined : internedDraw(steps, weights, rng, options)
    let made = 0
    if (interned) {
      const { requests, draw } = interned
      const next = () => {
        if (limit !== undefined && made >= limit) return -1
        made++
        return draw()
      }
      phases.push({
        phase,
        total: limit,
        durationMs: durations?.[idx],
        requests,
        nextId: next,
        next: () => {
          const id = next()
          return id < 0 ? undefined : requests[id]
        },
      })
      return
    }
    phases.push({
      phase,
      total: limit,
      durationMs: durations?.[idx],
      next: () => {
        if (limit !== undefined && made >= limit) return undefined
        made++
        const step = steps[rng.weighted(weights)]
        const host = rng.pick(step.players ?? options.players)
        return buildRequest(step, host, rng, options.seed)
      },
    })
  })
  return { scenario: scenario.name, kind, phases, total: amount, durationMs }
}

interface CompiledStep {
  step: ScenarioStep
  hosts: string[]
  /** Number of outcomes of each random value (int range size, oneOf length), in the order drawn. */
  radices: number[]
}

/**
 * The weight-based draw of expandScenario (step by weight, player, then each random value, with the
 * same rng calls in the same order, so the same seed gives the same requests) as a number per distinct
 * request: the draw is encoded as a mixed-radix key (step, player, choices), and a request is built
 * only the first time its key comes up. Undefined when the steps' distinct requests exceed MAX_INTERNED
 * or a value cannot be drawn this way (then the plain generator runs, with its own errors).
 */
function internedDraw(
  steps: ScenarioStep[],
  weights: number[],
  rng: Rng,
  options: PlanOptions,
): { draw: () => number; requests: PlannedRequest[] } | undefined {
  const compiled: CompiledStep[] = []
  let space = 0
  for (const step of steps) {
    const hosts = step.players ?? options.players
    if (hosts.length === 0) return undefined
    const radices: number[] = []
    for (const part of [step.query, step.body]) {
      for (const spec of Object.values(part ?? {})) {
        if (typeof spec !== 'object') continue
        if ('int' in spec) {
          const [min, max] = spec.int
          if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) return undefined
          radices.push(max - min + 1)
        } else if ('oneOf' in spec) {
          if (spec.oneOf.length === 0) return undefined
          radices.push(spec.oneOf.length)
        }
      }
    }
    space += radices.reduce((a, r) => a * r, hosts.length)
    if (!(space <= MAX_INTERNED)) return undefined
    compiled.push({ step, hosts, radices })
  }
  const n = compiled.length
  const requests: PlannedRequest[] = []
  const known = new Map<number, number>()
  const choices: number[] = []
  let k = 0
  // Replays the recorded choices to buildRequest, which asks for them in the order they were drawn.
  const replay: Rng = {
    next: () => {
      throw new Error('replay: next')
    },
    int: (min) => min + choices[k++],
    pick: (items) => items[choices[k++]],
    weighted: () => {
      throw new Error('replay: weighted')
    },
    shuffle: () => {
      throw new Error('replay: shuffle')
    },
  }
  // rng.weighted(weights), inlined with the same arithmetic (same total, same subtractions): same index.
  let totalWeight = 0
  for (const w of weights) totalWeight += w
  const last = weights.length - 1
  const pickStep = (): number => {
    let r = rng.next() * totalWeight
    for (let i = 0; i < last; i++) {
      r -= weights[i]
      if (r < 0) return i
    }
    return last
  }
  // Keys index a flat table when the key space is small enough (one 4-byte slot per possible key).
  const keySpace = n * Math.max(...compiled.map((c) => c.radices.reduce((a, r) => a * r, c.hosts.length)))
  const table = keySpace <= 1 << 20 ? new Int32Array(keySpace).fill(-1) : undefined
  const draw = (): number => {
    const s = pickStep()
    const c = compiled[s]
    const h = Math.floor(rng.next() * c.hosts.length)
    let key = s + n * h
    let mult = n * c.hosts.length
    const radices = c.radices
    for (let j = 0; j < radices.length; j++) {
      const choice = Math.floor(rng.next() * radices[j])
      choices[j] = choice
      key += choice * mult
      mult *= radices[j]
    }
    let id = table ? table[key] : (known.get(key) ?? -1)
    if (id < 0) {
      k = 0
      id = requests.length
      requests.push(buildRequest(c.step, c.hosts[h], replay, options.seed))
      if (table) table[key] = id
      else known.set(key, id)
    }
    return id
  }
  return { draw, requests }
}

/** Every request of a finite plan, phase by phase (for tests and dry runs). */
export function collectPlan(plan: LoadPlan): PlannedRequest[] {
  const out: PlannedRequest[] = []
  for (const phase of plan.phases) {
    if (phase.total === undefined) throw new Error('collectPlan needs a finite plan')
    for (let r = phase.next(); r; r = phase.next()) out.push(r)
  }
  return out
}
