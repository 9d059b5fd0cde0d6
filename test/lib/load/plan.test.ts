import { describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import {
  apportion,
  collectPlan,
  expandScenario,
  generatedPlayers,
  MAX_INTERNED,
  type PlannedRequest,
} from '../../../src/lib/load/plan.js'
import { BUILTIN_SCENARIOS, parseScenario } from '../../../src/lib/load/scenario.js'

function countBy(requests: PlannedRequest[], key: (r: PlannedRequest) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of requests) out[key(r)] = (out[key(r)] ?? 0) + 1
  return out
}

describe('expandScenario: seed', () => {
  const plan = expandScenario(BUILTIN_SCENARIOS.seed, { players: ['ignored.example'], seed: 1 })
  const all = collectPlan(expandScenario(BUILTIN_SCENARIOS.seed, { players: ['ignored.example'], seed: 1 }))

  it("sends exactly the seed notebook's requests", () => {
    expect(plan.kind).toBe('count')
    expect(plan.total).toBe(143)
    expect(all).toHaveLength(143)
    expect(countBy(all, (r) => `${r.host} ${r.method} ${r.path}`)).toEqual({
      'localhost GET /add_money?amount=5': 10,
      'localhost GET /add_money?amount=10': 10,
      'oski.berkeley.edu GET /add_money?amount=100': 100,
      'oski.berkeley.edu GET /purchase_a_sword?sword_type=Great%20Sword': 2,
      'oski.berkeley.edu GET /purchase_a_knife': 15,
      'tree.stanfurd.edu GET /add_money?amount=1': 1,
      'tree.stanford.edu GET /join_guild?guild_name=stanford': 1,
      'tree.stanford.edu GET /cancel_membership?guild_name=stanford': 1,
      'berkeley.edu GET /join_guild?guild_name=berkeley': 1,
      'localhost:5000 GET /messages?message=this%20is%20a%20GET%20message': 1,
      'localhost:5000 POST /messages': 1,
    })
    const post = all.find((r) => r.method === 'POST')!
    expect(JSON.parse(post.body!)).toEqual({ message: 'this is a POST message - booyah!' })
    expect(post.eventType).toBe('mensaje')
  })

  it('sums the amounts as in the notebook (localhost 150, oski 10000, stanfurd 1)', () => {
    const sums: Record<string, number> = {}
    for (const r of all) if (r.amount !== undefined) sums[r.host] = (sums[r.host] ?? 0) + r.amount
    expect(sums).toEqual({ localhost: 150, 'oski.berkeley.edu': 10_000, 'tree.stanfurd.edu': 1 })
  })

  it('puts the cancel in a later phase than the joins', () => {
    expect(plan.phases.map((p) => p.total)).toEqual([142, 1])
    const last = all[all.length - 1]
    expect(last.eventType).toBe('cancel_membership')
    expect(all.slice(0, -1).some((r) => r.eventType === 'cancel_membership')).toBe(false)
  })

  it('refuses -n and -d for a count-based scenario', () => {
    expect(() => expandScenario(BUILTIN_SCENARIOS.seed, { players: [], seed: 1, amount: 5 })).toThrow(
      GameError,
    )
  })
})

describe('expandScenario: weighted', () => {
  const players = generatedPlayers(5)

  it('generates exactly -n requests, reproducibly for a seed', () => {
    const a = collectPlan(expandScenario(BUILTIN_SCENARIOS.mixed, { players, amount: 500, seed: 'abc' }))
    const b = collectPlan(expandScenario(BUILTIN_SCENARIOS.mixed, { players, amount: 500, seed: 'abc' }))
    const c = collectPlan(expandScenario(BUILTIN_SCENARIOS.mixed, { players, amount: 500, seed: 'abd' }))
    expect(a).toHaveLength(500)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    expect(new Set(a.map((r) => r.host))).toEqual(new Set(players))
    for (const r of a) expect(r.eventType).not.toBe('unknown')
  })

  it('follows the weights: shop is about 4:1:2', () => {
    const all = collectPlan(expandScenario(BUILTIN_SCENARIOS.shop, { players, amount: 7000, seed: 3 }))
    const counts = countBy(all, (r) => r.eventType)
    expect(counts.add_money / counts.purchase_sword).toBeGreaterThan(3.4)
    expect(counts.add_money / counts.purchase_sword).toBeLessThan(4.6)
    expect(counts.purchase_knife / counts.purchase_sword).toBeGreaterThan(1.6)
    for (const r of all.filter((x) => x.eventType === 'add_money')) {
      expect(r.amount).toBeGreaterThanOrEqual(1)
      expect(r.amount).toBeLessThanOrEqual(100)
    }
  })

  it('guild-churn: joins first, a quarter cancels, each player always names its own guild', () => {
    const plan = expandScenario(BUILTIN_SCENARIOS['guild-churn'], { players, amount: 400, seed: 9 })
    expect(plan.phases.map((p) => p.total)).toEqual([300, 100])
    const all = collectPlan(plan)
    expect(all.slice(0, 300).every((r) => r.eventType === 'join_guild')).toBe(true)
    expect(all.slice(300).every((r) => r.eventType === 'cancel_membership')).toBe(true)
    const guildOf = new Map<string, string>()
    for (const r of all) {
      const guild = new URL(`http://x${r.path}`).searchParams.get('guild_name')!
      if (guildOf.has(r.host)) expect(guildOf.get(r.host)).toBe(guild)
      guildOf.set(r.host, guild)
    }
  })

  it('with -d, splits the duration over the phases and has no total', () => {
    const plan = expandScenario(BUILTIN_SCENARIOS['guild-churn'], { players, durationSec: 8, seed: 1 })
    expect(plan.total).toBeUndefined()
    expect(plan.phases.map((p) => p.durationMs)).toEqual([6000, 2000])
    expect(plan.phases[0].next()).toBeDefined()
  })

  it('steps with their own players only use those', () => {
    const s = parseScenario('steps:\n  - path: /\n    weight: 1\n    players: [only.example]\n')
    const all = collectPlan(expandScenario(s, { players, amount: 20, seed: 1 }))
    expect(new Set(all.map((r) => r.host))).toEqual(new Set(['only.example']))
    expect(all[0].eventType).toBe('default')
  })
})

describe('expandScenario: interned requests (PlanPhase.nextId)', () => {
  const players = generatedPlayers(37)
  for (const name of Object.keys(BUILTIN_SCENARIOS)) {
    it(`${name}: the same requests in the same order as the plain generator`, () => {
      const opts = (intern: boolean) => ({
        players,
        seed: `s-${name}`,
        intern,
        ...(BUILTIN_SCENARIOS[name].steps[0].count === undefined ? { amount: 5000 } : {}),
      })
      const plain = expandScenario(BUILTIN_SCENARIOS[name], opts(false))
      expect(plain.phases.every((p) => p.nextId === undefined)).toBe(true)
      const expected = collectPlan(plain)
      const plan = expandScenario(BUILTIN_SCENARIOS[name], opts(true))
      const got: PlannedRequest[] = []
      for (const phase of plan.phases) {
        expect(phase.nextId).toBeTypeOf('function')
        let seen = 0
        for (let id = phase.nextId!(); id >= 0; id = phase.nextId!()) {
          // ids come in order of first appearance
          expect(id).toBeLessThanOrEqual(seen)
          if (id === seen) seen++
          got.push(phase.requests![id])
        }
        expect(phase.requests).toHaveLength(seen)
        expect(new Set(phase.requests!.map((r) => JSON.stringify(r))).size).toBe(seen)
      }
      expect(got).toEqual(expected)
      expect(collectPlan(expandScenario(BUILTIN_SCENARIOS[name], opts(true)))).toEqual(expected)
    })
  }

  it('also when the keys are too many for a flat table (a Map then)', () => {
    const wide = parseScenario(
      JSON.stringify({
        name: 'wide',
        steps: [
          { method: 'GET', path: '/add_money', query: { amount: { int: [1, 240_000] } }, weight: 1 },
          ...['/join_guild', '/messages', '/', '/purchase_a_knife'].map((path) => ({
            method: 'GET',
            path,
            weight: 1,
          })),
        ],
      }),
      'wide.json',
    )
    const opts = { players: ['only'], seed: 9, amount: 3000 }
    const plan = expandScenario(wide, opts)
    expect(plan.phases[0].nextId).toBeTypeOf('function')
    expect(collectPlan(plan)).toEqual(collectPlan(expandScenario(wide, { ...opts, intern: false })))
  })

  it('falls back to the plain generator when the distinct requests could exceed MAX_INTERNED', () => {
    const big = parseScenario(
      JSON.stringify({
        name: 'big',
        steps: [
          { method: 'GET', path: '/add_money', query: { amount: { int: [1, MAX_INTERNED] } }, weight: 1 },
        ],
      }),
      'big.json',
    )
    const plan = expandScenario(big, { players: ['a', 'b'], seed: 3, amount: 50 })
    expect(plan.phases[0].nextId).toBeUndefined()
    const plain = collectPlan(
      expandScenario(big, { players: ['a', 'b'], seed: 3, amount: 50, intern: false }),
    )
    expect(collectPlan(plan)).toEqual(plain)
  })
})

describe('apportion', () => {
  it('splits exactly', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3])
    expect(apportion(7, [3, 1])).toEqual([5, 2])
    expect(apportion(0, [1, 2])).toEqual([0, 0])
  })
})
