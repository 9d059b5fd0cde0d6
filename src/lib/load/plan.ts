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
}

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
      let i = 0
      phases.push({ phase, total: list.length, next: () => list[i++] })
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
    let made = 0
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

/** Every request of a finite plan, phase by phase (for tests and dry runs). */
export function collectPlan(plan: LoadPlan): PlannedRequest[] {
  const out: PlannedRequest[] = []
  for (const phase of plan.phases) {
    if (phase.total === undefined) throw new Error('collectPlan needs a finite plan')
    for (let r = phase.next(); r; r = phase.next()) out.push(r)
  }
  return out
}
