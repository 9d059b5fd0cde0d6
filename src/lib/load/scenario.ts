import { readFile } from 'node:fs/promises'
import { type Document, isMap, isSeq, LineCounter, parseDocument } from 'yaml'
import { ExitCode, GameError, usageError } from '../errors.js'

/**
 * A value in a step's query or body: a literal, or a random choice made with the run's seeded PRNG.
 *   { oneOf: [...] }      one of the values, chosen per request
 *   { int: [min, max] }   an integer in [min, max], chosen per request
 *   { perPlayer: [...] }  one of the values, the same for a player throughout the run (e.g. its guild)
 */
export type ValueSpec =
  | string
  | number
  | { oneOf: (string | number)[] }
  | { int: [number, number] }
  | { perPlayer: (string | number)[] }

export type StepMethod = 'GET' | 'POST'

export interface ScenarioStep {
  method: StepMethod
  /** Path without query string, e.g. /add_money. */
  path: string
  query?: Record<string, ValueSpec>
  /** POST body, sent as JSON. */
  body?: Record<string, ValueSpec>
  /** Exactly this many requests per player of the step (count-based scenarios). */
  count?: number
  /** Relative share of the run's requests (weight-based scenarios). */
  weight?: number
  /** The players (Host headers) of this step; omitted: the run's players (--host/--hosts/--hosts-file). */
  players?: string[]
  /** Phases run one after the other (1 before 2...), e.g. joins before cancels. Default 1. */
  phase?: number
}

export interface Scenario {
  name: string
  description: string
  steps: ScenarioStep[]
}

export type ScenarioKind = 'count' | 'weight'

export function scenarioKind(scenario: Scenario): ScenarioKind {
  return scenario.steps[0]?.count !== undefined ? 'count' : 'weight'
}

const SWORDS = ['Great Sword', 'Long Sword', 'Short Sword', 'Claymore']
const KNIVES = ['Dagger', 'Hunting Knife', 'Throwing Knife', '']
const GUILDS = ['stanford', 'berkeley', 'mit', 'caltech', 'oxford']
const CANCEL_REASONS = ['', 'too expensive', 'moving to another guild', 'guild disbanded']
const MESSAGES = ['hello', 'gg', 'anyone up for a raid?', 'selling a Great Sword', 'no cheating please']

/** The seed notebook's data, exactly (seed/w205-project3.txt). Joins (phase 1) precede the cancel (phase 2). */
const SEED: Scenario = {
  name: 'seed',
  description:
    "Reproduces the seed notebook's events exactly (143 requests from 6 players: the 6 Host values of its tables).",
  steps: [
    { method: 'GET', path: '/add_money', query: { amount: 5 }, count: 10, players: ['localhost'] },
    { method: 'GET', path: '/add_money', query: { amount: 10 }, count: 10, players: ['localhost'] },
    { method: 'GET', path: '/add_money', query: { amount: 100 }, count: 100, players: ['oski.berkeley.edu'] },
    {
      method: 'GET',
      path: '/purchase_a_sword',
      query: { sword_type: 'Great Sword' },
      count: 2,
      players: ['oski.berkeley.edu'],
    },
    { method: 'GET', path: '/purchase_a_knife', count: 15, players: ['oski.berkeley.edu'] },
    { method: 'GET', path: '/add_money', query: { amount: 1 }, count: 1, players: ['tree.stanfurd.edu'] },
    {
      method: 'GET',
      path: '/join_guild',
      query: { guild_name: 'stanford' },
      count: 1,
      players: ['tree.stanford.edu'],
    },
    {
      method: 'GET',
      path: '/join_guild',
      query: { guild_name: 'berkeley' },
      count: 1,
      players: ['berkeley.edu'],
    },
    {
      method: 'GET',
      path: '/messages',
      query: { message: 'this is a GET message' },
      count: 1,
      players: ['localhost:5000'],
    },
    {
      method: 'POST',
      path: '/messages',
      body: { message: 'this is a POST message - booyah!' },
      count: 1,
      players: ['localhost:5000'],
    },
    {
      method: 'GET',
      path: '/cancel_membership',
      query: { guild_name: 'stanford' },
      count: 1,
      players: ['tree.stanford.edu'],
      phase: 2,
    },
  ],
}

export const BUILTIN_SCENARIOS: Readonly<Record<string, Scenario>> = {
  seed: SEED,
  shop: {
    name: 'shop',
    description: 'Players add money and buy swords and knives (weighted 4:1:2).',
    steps: [
      { method: 'GET', path: '/add_money', query: { amount: { int: [1, 100] } }, weight: 4 },
      { method: 'GET', path: '/purchase_a_sword', query: { sword_type: { oneOf: SWORDS } }, weight: 1 },
      { method: 'GET', path: '/purchase_a_knife', query: { knife_type: { oneOf: KNIVES } }, weight: 2 },
    ],
  },
  'guild-churn': {
    name: 'guild-churn',
    description: 'Players join their guild (phase 1), then about a quarter of the requests cancel (phase 2).',
    steps: [
      { method: 'GET', path: '/join_guild', query: { guild_name: { perPlayer: GUILDS } }, weight: 3 },
      {
        method: 'GET',
        path: '/cancel_membership',
        query: { guild_name: { perPlayer: GUILDS }, cancel_reason: { oneOf: CANCEL_REASONS } },
        weight: 1,
        phase: 2,
      },
    ],
  },
  messages: {
    name: 'messages',
    description: 'Players post messages, half through GET, half through POST.',
    steps: [
      { method: 'GET', path: '/messages', query: { message: { oneOf: MESSAGES } }, weight: 1 },
      { method: 'POST', path: '/messages', body: { message: { oneOf: MESSAGES } }, weight: 1 },
    ],
  },
  mixed: {
    name: 'mixed',
    description:
      'Every event type: money, purchases, guild joins and cancels, messages and the default route.',
    steps: [
      { method: 'GET', path: '/add_money', query: { amount: { int: [1, 100] } }, weight: 6 },
      { method: 'GET', path: '/purchase_a_sword', query: { sword_type: { oneOf: SWORDS } }, weight: 2 },
      { method: 'GET', path: '/purchase_a_knife', query: { knife_type: { oneOf: KNIVES } }, weight: 3 },
      { method: 'GET', path: '/join_guild', query: { guild_name: { perPlayer: GUILDS } }, weight: 2 },
      {
        method: 'GET',
        path: '/cancel_membership',
        query: { guild_name: { perPlayer: GUILDS }, cancel_reason: { oneOf: CANCEL_REASONS } },
        weight: 1,
      },
      { method: 'GET', path: '/messages', query: { message: { oneOf: MESSAGES } }, weight: 1 },
      { method: 'POST', path: '/messages', body: { message: { oneOf: MESSAGES } }, weight: 1 },
      { method: 'GET', path: '/', weight: 1 },
    ],
  },
}

/** The built-in scenario of that name, or a scenario file (YAML or JSON). */
export async function loadScenario(nameOrFile: string): Promise<Scenario> {
  const builtin = BUILTIN_SCENARIOS[nameOrFile]
  if (builtin) return builtin
  let text: string
  try {
    text = await readFile(nameOrFile, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw usageError(
      code === 'ENOENT'
        ? `Unknown scenario "${nameOrFile}": not a built-in scenario and no such file`
        : `Cannot read scenario file ${nameOrFile}: ${(error as Error).message}`,
      `Use one of ${Object.keys(BUILTIN_SCENARIOS).join(', ')}, or the path of a YAML/JSON scenario file.`,
    )
  }
  return parseScenario(text, nameOrFile)
}

const FILE_HINT =
  'A scenario file has `steps:`, each with method (GET|POST), path, optional query/body, count or weight, players and phase; see docs/load.md.'

type PathKey = string | number

function fieldName(path: PathKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)),
    '',
  )
}

/** Parses and validates a scenario file; errors name the file, line and field. */
export function parseScenario(text: string, file = 'scenario'): Scenario {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const line = lineCounter.linePos(e.pos[0]).line
    throw scenarioError(file, line, '(syntax)', e.message.split('\n')[0])
  }
  const lineOf = (path: PathKey[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : (doc.getIn(path.slice(0, n), true) as { range?: number[] } | null)
      const range = (node as { range?: number[] } | null)?.range
      if (range) return lineCounter.linePos(range[0]).line
    }
    return 1
  }
  const fail = (path: PathKey[], rule: string): never => {
    throw scenarioError(file, lineOf(path), fieldName(path), rule)
  }
  return validateScenario(doc, fail, file)
}

function scenarioError(file: string, line: number, field: string, rule: string): GameError {
  return new GameError('SCENARIO_INVALID', `${file}:${line}: ${field}: ${rule}`, {
    exitCode: ExitCode.config,
    hint: FILE_HINT,
    details: { file, line, field },
  })
}

function validateScenario(
  doc: Document,
  fail: (path: PathKey[], rule: string) => never,
  file: string,
): Scenario {
  const root = doc.toJS() as unknown
  let stepsRaw: unknown
  let stepsPath: PathKey[]
  let name = file.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '')
  let description = `Scenario file ${file}`
  if (Array.isArray(root)) {
    stepsRaw = root
    stepsPath = []
  } else if (root && typeof root === 'object') {
    const obj = root as Record<string, unknown>
    for (const key of Object.keys(obj)) {
      if (!['name', 'description', 'steps'].includes(key))
        fail([key], 'unknown key (name, description, steps)')
    }
    if (obj.name !== undefined) {
      if (typeof obj.name !== 'string' || !obj.name) fail(['name'], 'expected a non-empty string')
      name = obj.name as string
    }
    if (obj.description !== undefined) {
      if (typeof obj.description !== 'string') fail(['description'], 'expected a string')
      description = obj.description as string
    }
    stepsRaw = obj.steps
    stepsPath = ['steps']
  } else {
    return fail([], 'expected a mapping with `steps:` or a list of steps')
  }
  if (!Array.isArray(stepsRaw) || stepsRaw.length === 0) {
    return fail(stepsPath.length ? stepsPath : [], 'expected a non-empty list of steps')
  }
  if (stepsPath.length && !isSeq(doc.getIn(stepsPath, true))) fail(stepsPath, 'expected a list of steps')
  const steps = stepsRaw.map((raw, i) => validateStep(raw, [...stepsPath, i], fail, doc))
  const kindOf = (s: ScenarioStep): ScenarioKind => (s.count !== undefined ? 'count' : 'weight')
  const odd = steps.findIndex((s) => kindOf(s) !== kindOf(steps[0]))
  if (odd >= 0) {
    fail(
      [...stepsPath, odd],
      'mixes count and weight steps: use count on every step, or weight on every step',
    )
  }
  return { name, description, steps }
}

const STEP_KEYS = ['method', 'path', 'query', 'body', 'count', 'weight', 'players', 'phase']

function validateStep(
  raw: unknown,
  at: PathKey[],
  fail: (path: PathKey[], rule: string) => never,
  doc: Document,
): ScenarioStep {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !isMap(doc.getIn(at, true) ?? doc.contents)) {
    return fail(at, 'expected a mapping (method, path, count or weight, ...)')
  }
  const s = raw as Record<string, unknown>
  for (const key of Object.keys(s)) {
    if (!STEP_KEYS.includes(key)) fail([...at, key], `unknown key (${STEP_KEYS.join(', ')})`)
  }
  const method = s.method === undefined ? 'GET' : String(s.method).toUpperCase()
  if (method !== 'GET' && method !== 'POST')
    fail([...at, 'method'], `expected GET or POST, got ${JSON.stringify(s.method)}`)
  if (typeof s.path !== 'string' || !s.path.startsWith('/') || s.path.includes('?')) {
    fail([...at, 'path'], 'expected a path starting with / (put parameters under query:)')
  }
  const step: ScenarioStep = { method: method as StepMethod, path: s.path as string }
  if (s.count !== undefined && s.weight !== undefined)
    fail([...at, 'weight'], 'give count or weight, not both')
  if (s.count === undefined && s.weight === undefined) fail(at, 'missing count or weight')
  if (s.count !== undefined) {
    if (!Number.isInteger(s.count) || (s.count as number) < 0)
      fail([...at, 'count'], 'expected an integer >= 0')
    step.count = s.count as number
  }
  if (s.weight !== undefined) {
    if (typeof s.weight !== 'number' || !Number.isFinite(s.weight) || s.weight <= 0)
      fail([...at, 'weight'], 'expected a number > 0')
    step.weight = s.weight as number
  }
  if (s.phase !== undefined) {
    if (!Number.isInteger(s.phase) || (s.phase as number) < 1)
      fail([...at, 'phase'], 'expected an integer >= 1')
    step.phase = s.phase as number
  }
  if (s.players !== undefined) {
    const players = typeof s.players === 'string' ? [s.players] : s.players
    if (!Array.isArray(players) || players.length === 0)
      fail([...at, 'players'], 'expected a list of host names')
    ;(players as unknown[]).forEach((p, j) => {
      if (typeof p !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(p))
        fail([...at, 'players', j], 'expected a host name (printable ASCII, no spaces)')
    })
    step.players = players as string[]
  }
  for (const part of ['query', 'body'] as const) {
    if (s[part] === undefined) continue
    const obj = s[part]
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      fail([...at, part], 'expected a mapping of name: value')
    const out: Record<string, ValueSpec> = {}
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      out[k] = validateValue(v, [...at, part, k], fail)
    }
    step[part] = out
  }
  if (step.body && step.method !== 'POST') fail([...at, 'body'], 'a body needs method: POST')
  return step
}

function validateValue(v: unknown, at: PathKey[], fail: (path: PathKey[], rule: string) => never): ValueSpec {
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v
  if (typeof v === 'boolean') return String(v)
  const rule = 'expected a string, a number, {oneOf: [..]}, {int: [min, max]} or {perPlayer: [..]}'
  if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(at, rule)
  const keys = Object.keys(v)
  if (keys.length !== 1) return fail(at, rule)
  const [key] = keys
  const list = (v as Record<string, unknown>)[key]
  if (key === 'int') {
    if (
      !Array.isArray(list) ||
      list.length !== 2 ||
      !list.every((n) => Number.isInteger(n)) ||
      (list[0] as number) > (list[1] as number)
    ) {
      return fail([...at, 'int'], 'expected [min, max], two integers with min <= max')
    }
    return { int: [list[0] as number, list[1] as number] }
  }
  if (key === 'oneOf' || key === 'perPlayer') {
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((x) => typeof x === 'string' || typeof x === 'number')
    )
      return fail([...at, key], 'expected a non-empty list of strings or numbers')
    return key === 'oneOf'
      ? { oneOf: list as (string | number)[] }
      : { perPlayer: list as (string | number)[] }
  }
  return fail([...at, key], rule)
}
