import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, isErrorCode, renderErrorCodesDoc } from '../../src/lib/error-codes.js'
import { configError, ExitCode, GameError, toGameError, unreachableError } from '../../src/lib/errors.js'
import { ROOT } from '../helpers/cli.js'

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

describe('error codes', () => {
  it('docs/errors.md is the table in src/lib/error-codes.ts (npm run readme regenerates it)', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8')
    expect(doc).toBe(renderErrorCodesDoc())
    for (const [code, e] of Object.entries(ERROR_CODES)) expect(doc).toContain(`| \`${code}\` | ${e.exit} |`)
  })

  it('a code gives its table exit code unless the thrower picks one; unknown codes are not codes', () => {
    expect(new GameError('CONFIG_INVALID', 'x').exitCode).toBe(3)
    expect(new GameError('STACK_NOT_RUNNING', 'x').exitCode).toBe(4)
    expect(new GameError('CONFIG_INVALID', 'x', { exitCode: 1 }).exitCode).toBe(1)
    expect(isErrorCode('WEBHDFS_FILENOTFOUNDEXCEPTION')).toBe(true)
    expect(isErrorCode('NOT_A_CODE')).toBe(false)
  })

  it('every code thrown in src is in the table', () => {
    const files = execFileSync('git', ['ls-files', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
    const thrown = new Set<string>()
    for (const f of files.filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(path.join(ROOT, f), 'utf8')
      for (const m of text.matchAll(/new GameError\(\s*'([A-Z_]+)'/g)) thrown.add(m[1])
    }
    expect(thrown.size).toBeGreaterThan(30)
    for (const code of thrown) expect(isErrorCode(code), code).toBe(true)
  })
})
