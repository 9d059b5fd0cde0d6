import { describe, expect, it } from 'vitest'
import { configError, ExitCode, GameError, toGameError, unreachableError } from '../../src/lib/errors.js'

describe('GameError', () => {
  it('carries code, hint, exit code and serialises for --json', () => {
    const e = unreachableError('Kafka', '127.0.0.1:9092', 'run `game up` or set GAME_BROKERS')
    expect(e.exitCode).toBe(ExitCode.unreachable)
    expect(e.message).toBe('Kafka at 127.0.0.1:9092 is not reachable')
    expect(e.toJSON()).toMatchObject({
      code: 'UNREACHABLE',
      hint: 'run `game up` or set GAME_BROKERS',
      exitCode: 4,
    })
  })

  it('maps connection refused to exit 4 and unknown errors to exit 1', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    expect(toGameError(refused).exitCode).toBe(4)
    expect(toGameError(new Error('boom')).exitCode).toBe(1)
    const g = configError('topic', '', 'expected a non-empty string')
    expect(toGameError(g)).toBe(g)
    expect(g).toBeInstanceOf(GameError)
    expect(g.exitCode).toBe(3)
  })
})
