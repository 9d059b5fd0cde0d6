import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import {
  BUILTIN_SCENARIOS,
  loadScenario,
  parseScenario,
  scenarioKind,
} from '../../../src/lib/load/scenario.js'

function errorOf(fn: () => unknown): GameError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GameError)
    return error as GameError
  }
  throw new Error('expected an error')
}

describe('built-in scenarios', () => {
  it('has seed, shop, guild-churn, messages and mixed; seed is count-based, the others weight-based', () => {
    expect(Object.keys(BUILTIN_SCENARIOS).sort()).toEqual([
      'guild-churn',
      'messages',
      'mixed',
      'seed',
      'shop',
    ])
    expect(scenarioKind(BUILTIN_SCENARIOS.seed)).toBe('count')
    for (const name of ['shop', 'guild-churn', 'messages', 'mixed']) {
      expect(scenarioKind(BUILTIN_SCENARIOS[name])).toBe('weight')
    }
  })
})

describe('parseScenario', () => {
  it('parses YAML with every value form', () => {
    const s = parseScenario(
      `name: mine
description: test
steps:
  - method: get
    path: /add_money
    query: { amount: { int: [1, 9] } }
    weight: 2
  - method: POST
    path: /messages
    body:
      message: { oneOf: [hi, yo] }
    weight: 1
    players: [a.example, b.example]
  - path: /join_guild
    query: { guild_name: { perPlayer: [x, y] } }
    weight: 1
    phase: 2
`,
      'mine.yaml',
    )
    expect(s.name).toBe('mine')
    expect(s.steps).toHaveLength(3)
    expect(s.steps[0]).toEqual({
      method: 'GET',
      path: '/add_money',
      query: { amount: { int: [1, 9] } },
      weight: 2,
    })
    expect(s.steps[1].players).toEqual(['a.example', 'b.example'])
    expect(s.steps[1].body).toEqual({ message: { oneOf: ['hi', 'yo'] } })
    expect(s.steps[2].method).toBe('GET')
    expect(s.steps[2].phase).toBe(2)
  })

  it('parses JSON, also as a bare list of steps', () => {
    const s = parseScenario('[{"method": "GET", "path": "/", "count": 3}]', 'x.json')
    expect(s.name).toBe('x')
    expect(s.steps).toEqual([{ method: 'GET', path: '/', count: 3 }])
  })

  it.each([
    ['steps:\n  - method: GET\n    path: /add_money\n    count: many\n', 4, 'steps[0].count'],
    [
      'steps:\n  - method: GET\n    path: /add_money\n    count: 1\n  - method: PUT\n    path: /x\n    count: 1\n',
      5,
      'steps[1].method',
    ],
    ['steps:\n  - method: GET\n    path: add_money\n    weight: 1\n', 3, 'steps[0].path'],
    ['steps:\n  - method: GET\n    path: /a\n', 2, 'steps[0]'],
    ['steps:\n  - path: /a\n    weight: 1\n    colour: red\n', 4, 'steps[0].colour'],
    ['steps:\n  - path: /a\n    weight: 1\n  - path: /b\n    count: 2\n', 4, 'steps[1]'],
    [
      'steps:\n  - path: /a\n    weight: 1\n    query:\n      amount: { int: [5, 1] }\n',
      5,
      'steps[0].query.amount.int',
    ],
    ['steps:\n  - path: /a\n    weight: 1\n    body: { message: hi }\n', 4, 'steps[0].body'],
    ['steps: []\n', 1, 'steps'],
    ['steps:\n  - path: /a\n    path: /b\n    weight: 1\n', 3, '(syntax)'],
    ['{"steps": [\n  {"path": "/a",\n   "weight": -1}\n]}', 3, 'steps[0].weight'],
  ])('names the line and field of a bad file (%#)', (text, line, field) => {
    const e = errorOf(() => parseScenario(text, 'bad.yaml'))
    expect(e.code).toBe('SCENARIO_INVALID')
    expect(e.exitCode).toBe(3)
    expect(e.hint).toMatch(/steps/)
    expect(e.details).toMatchObject({ file: 'bad.yaml', line, field })
    expect(e.message).toContain(`bad.yaml:${line}: ${field}:`)
  })
})

describe('loadScenario', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'game-scenario-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('returns built-ins by name and reads files', async () => {
    expect(await loadScenario('seed')).toBe(BUILTIN_SCENARIOS.seed)
    const file = path.join(dir, 's.yml')
    await writeFile(file, 'steps:\n  - path: /\n    count: 1\n')
    expect((await loadScenario(file)).steps).toHaveLength(1)
  })

  it('an unknown name is a usage error listing the built-ins', async () => {
    const e = await loadScenario(path.join(dir, 'nope')).catch((x) => x)
    expect(e).toBeInstanceOf(GameError)
    expect(e.exitCode).toBe(2)
    expect(e.hint).toContain('seed, shop')
  })
})
