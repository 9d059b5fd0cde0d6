import { defaultExitCode, type ErrorCode } from './error-codes.js'

export type { ErrorCode } from './error-codes.js'
/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  unreachable: 4,
  checkFailed: 5,
  interrupted: 130,
} as const
export interface GameErrorOptions {
  /** What to run or set next. */
  hint?: string
  exitCode?: number
  cause?: unknown
  /** Whether retrying the same operation may succeed. */
  retriable?: boolean
  /** Extra machine-readable detail, included in the `--json` error document. */
  details?: Record<string, unknown>
}

/** The one error class: a stable code, what happened, and what to do next. */
export class GameError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly exitCode: number
  readonly retriable: boolean
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: GameErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GameError'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? defaultExitCode(code)
    this.retriable = options.retriable ?? false
    this.details = options.details
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      exitCode: this.exitCode,
      ...(this.details ? { details: this.details } : {}),
    }
  }
}

export function isGameError(error: unknown): error is GameError {
  return error instanceof GameError
}

/** A config value that does not validate: names the key, the value and the fix. */
export function configError(key: string, value: unknown, rule: string, hint?: string): GameError {
  return new GameError('CONFIG_INVALID', `Invalid ${key}: ${JSON.stringify(value)} (${rule})`, {
    exitCode: ExitCode.config,
    hint: hint ?? `Fix ${key} in the flag, its GAME_* environment variable, or game.config.json.`,
    details: { key, value },
  })
}

export function usageError(message: string, hint?: string): GameError {
  return new GameError('USAGE', message, { exitCode: ExitCode.usage, hint })
}

/** A service that does not answer: Kafka, WebHDFS, the API. */
export function unreachableError(service: string, address: string, hint: string, cause?: unknown): GameError {
  return new GameError('UNREACHABLE', `${service} at ${address} is not reachable`, {
    exitCode: ExitCode.unreachable,
    hint,
    cause,
    retriable: true,
    details: { service, address },
  })
}

/** Turns anything thrown into a GameError, keeping GameErrors as they are. */
export function toGameError(error: unknown): GameError {
  if (isGameError(error)) return error
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED') {
      return new GameError('UNREACHABLE', error.message, {
        exitCode: ExitCode.unreachable,
        cause: error,
        hint: 'Start the stack with `game up`, or point --brokers / --lake at a running cluster.',
      })
    }
    return new GameError('INTERNAL', error.message, {
      cause: error,
      hint: 'Run again with --verbose for the stack.',
    })
  }
  return new GameError('INTERNAL', String(error))
}
