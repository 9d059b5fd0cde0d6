import { Command, Flags } from '@oclif/core'
import { CONFIG_KEYS, type ConfigKey, type GameConfig, loadConfig } from './lib/config.js'
import { ExitCode, GameError, toGameError } from './lib/errors.js'
import { type ProgressComponent, type ProgressSink, progressView } from './ui/progress-view.js'
import { colorEnabled, isInteractive } from './ui/terminal.js'

/** How long a forced stop waits for the command's last words. */
const LAST_WORDS_MS = 2_000

/**
 * Every command extends this: `--json` (stdout holds exactly one JSON document), the one config,
 * and the one place that formats errors and picks exit codes.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'data-dir': Flags.string({
      summary: 'Directory for the embedded stack data, state file, logs and report cache.',
      env: 'GAME_HOME',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({ summary: 'Show stack traces and debug detail on errors.', helpGroup: 'GLOBAL' }),
  }

  /**
   * What a forced stop (the second Ctrl-C) still does before exiting, for at most LAST_WORDS_MS:
   * `game stream` leaves its consumer group there, so the next run does not wait for the session timeout.
   */
  protected lastWords: (() => Promise<unknown>) | undefined
  /** Set by interrupt handling so `catch` can report exit 130. */
  protected interrupted = false
  private abortController?: AbortController
  private verboseErrors = false

  /** The interactive test of STYLE.md: stdout a TTY, TERM not dumb, CI unset, and not --json. */
  protected get interactive(): boolean {
    return !this.jsonEnabled() && isInteractive(process.stdout, process.env)
  }

  /** Colour on stdout: interactive (see above) and NO_COLOR unset. */
  protected get color(): boolean {
    return !this.jsonEnabled() && colorEnabled(process.stdout, process.env)
  }

  /**
   * The one config from a command's parsed flags: every flag named after a config key (kebab-case:
   * `--kafka-port` sets kafkaPort, `--data-dir` dataDir) is passed through, so a new setting is one
   * SPEC entry in src/lib/config.ts plus its flag. `aliases` maps other flag names to keys
   * (`{ url: 'apiUrl' }`).
   */
  protected configFromFlags(
    flagValues: object,
    aliases: Partial<Record<string, ConfigKey>> = {},
  ): GameConfig {
    const flags = flagValues as Record<string, unknown>
    const values: Partial<Record<ConfigKey, unknown>> = {}
    for (const key of CONFIG_KEYS) {
      const value = flags[kebab(key)]
      if (value !== undefined) values[key] = value
    }
    for (const [flag, key] of Object.entries(aliases)) {
      if (key !== undefined && flags[flag] !== undefined) values[key] = flags[flag]
    }
    return loadConfig({ flags: values, env: process.env, cwd: process.cwd() })
  }

  /** An AbortSignal that fires on SIGINT/SIGTERM; long operations take it and stop cleanly. */
  protected interruptSignal(): AbortSignal {
    if (this.abortController) return this.abortController.signal
    const controller = new AbortController()
    this.abortController = controller
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        // Second Ctrl-C: the user means it. Last words (bounded) first, e.g. leaving a consumer group.
        const last = this.lastWords
        this.lastWords = undefined
        if (!last) process.exit(ExitCode.interrupted)
        const exit = () => process.exit(ExitCode.interrupted)
        setTimeout(exit, LAST_WORDS_MS).unref()
        void last().then(exit, exit)
        return
      }
      this.interrupted = signal === 'SIGINT'
      controller.abort(
        new GameError('INTERRUPTED', `Interrupted by ${signal}`, { exitCode: ExitCode.interrupted }),
      )
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    return controller.signal
  }

  /**
   * The one way a command whose result says "failed" ends (doctor checks, status, load thresholds,
   * check differences): the result is still the output (the table in text mode; under --json the
   * document, with `error` added), the error's line and hint go to stderr in text mode, and the exit
   * code is the error's.
   */
  protected resultFailed<T extends object>(
    result: T,
    error: GameError,
  ): T & { error: Record<string, unknown> } {
    process.exitCode = error.exitCode
    if (!this.jsonEnabled()) {
      process.stderr.write(`Error: ${error.message}\n`)
      if (error.hint) process.stderr.write(`Hint: ${error.hint}\n`)
    }
    return { ...result, error: error.toJSON() }
  }

  /** A plain progress line on stderr (never stdout, which holds only the result). */
  protected progress(line: string): void {
    process.stderr.write(`${line}\n`)
  }

  /**
   * The progress of a long command: its ink `view` on stderr when interactive (and stderr is a
   * terminal), else `plainLine` on stderr when it changes (also under --json: stdout keeps only the
   * result). See src/ui/progress-view.ts.
   */
  protected progressView<P>(
    view: () => Promise<ProgressComponent<P>>,
    plainLine: (progress: P) => string,
  ): Promise<ProgressSink<P>> {
    return progressView({
      live: this.interactive && process.stderr.isTTY === true,
      view,
      plainLine,
      write: (line) => this.progress(line),
    })
  }

  protected override async init(): Promise<void> {
    await super.init()
    // NO_COLOR (no-color.org: set and not empty) must reach the live views too: ink colours
    // through chalk, which honours FORCE_COLOR=0. Set before any view loads ink.
    if (process.env.NO_COLOR) process.env.FORCE_COLOR = '0'
    this.verboseErrors = this.argv.includes('--verbose')
  }

  /** Which flag values came from their GAME_* variable: the flag was not on the command line. */
  private flagEnv(): (flag: string) => FlagFromEnv | undefined {
    const ctor = this.constructor as typeof BaseCommand
    const defs: Record<string, { env?: string; char?: string }> = { ...ctor.baseFlags, ...ctor.flags }
    return (flag) => {
      const def = defs[flag]
      if (!def?.env) return undefined
      const value = process.env[def.env]
      if (value === undefined) return undefined
      const onLine = this.argv.some(
        (a) =>
          a === `--${flag}` ||
          a.startsWith(`--${flag}=`) ||
          (def.char !== undefined && a.startsWith(`-${def.char}`)),
      )
      return onLine ? undefined : { flag, env: def.env, value }
    }
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    const error = classify(err, this.flagEnv())
    process.exitCode = error.exitCode
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
    } else {
      process.stderr.write(`Error: ${error.message}\n`)
      if (error.hint) process.stderr.write(`Hint: ${error.hint}\n`)
      if (this.verboseErrors)
        process.stderr.write(`${(error.cause as Error | undefined)?.stack ?? error.stack}\n`)
    }
    return undefined
  }
}

/** `kafkaPort` → `kafka-port`. */
function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** A flag's value that came from its environment variable (not the command line). */
export interface FlagFromEnv {
  flag: string
  env: string
  value: string
}

/**
 * oclif's multi-line parse message as one line: "Parsing --connections: Expected an integer but
 * received: abc" (oclif puts the reason on the next lines, and "See more help" last).
 */
export function oneLineReason(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help/i.test(l))
  if (lines.length === 0) return message.trim()
  const [head, ...rest] = lines
  if (rest.length === 0) return head
  if (/^The following errors? occurred:?$/i.test(head)) return rest.join('; ')
  return `${head.replace(/:$/, '')}: ${rest.join('; ')}`
}

/**
 * Maps oclif's own errors (bad flags, missing args) to usage errors with oclif's whole reason, a
 * bad value from a GAME_* variable to a config error (exit 3, naming the variable), and everything
 * else to GameError.
 */
export function classify(
  err: Error & { exitCode?: number; oclif?: { exit?: number }; code?: string },
  fromEnv: (flag: string) => FlagFromEnv | undefined = () => undefined,
): GameError {
  if (err instanceof GameError) return err
  if (err.code === 'EEXIT' || err.oclif?.exit === 0) {
    return new GameError('EXIT', err.message, { exitCode: err.oclif?.exit ?? 0 })
  }
  const name = err.constructor?.name ?? ''
  if (
    /Flag|Arg|Parse|Validation|Unexpected|NonExistent/.test(name) ||
    /Expected|Missing required|Unexpected argument|Nonexistent flag|^Parsing --/i.test(err.message)
  ) {
    const reason = oneLineReason(err.message)
    const parsing = /^Parsing --([\w-]+)/.exec(reason)
    const env = parsing ? fromEnv(parsing[1]) : undefined
    if (env) {
      const rule = reason.replace(/^Parsing --[\w-]+:?\s*/, '')
      return new GameError('CONFIG_INVALID', `Invalid ${env.env}: ${JSON.stringify(env.value)} (${rule})`, {
        exitCode: ExitCode.config,
        hint: `Fix or unset ${env.env} (it sets --${env.flag}).`,
        cause: err,
        details: { key: env.env, value: env.value, flag: env.flag },
      })
    }
    return new GameError('USAGE', reason, {
      exitCode: ExitCode.usage,
      hint: 'See the command help with --help.',
      cause: err,
    })
  }
  return toGameError(err)
}
