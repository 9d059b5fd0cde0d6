import { Command, Flags, type Interfaces } from '@oclif/core'
import { type ConfigKey, type GameConfig, loadConfig } from './lib/config.js'
import { ExitCode, GameError, toGameError } from './lib/errors.js'
import { isInteractive } from './ui/terminal.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

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

  /** Set by interrupt handling so `catch` can report exit 130. */
  protected interrupted = false
  private abortController?: AbortController
  private verboseErrors = false

  /** The interactive test of STYLE.md: stdout a TTY, TERM not dumb, CI unset, and not --json. */
  protected get interactive(): boolean {
    return !this.jsonEnabled() && isInteractive(process.stdout, process.env)
  }

  /** Loads the one config; flag values that are undefined fall through to env, file, defaults. */
  protected gameConfig(flags: Partial<Record<ConfigKey, unknown>> & { 'data-dir'?: string }): GameConfig {
    const { 'data-dir': dataDir, ...rest } = flags
    return loadConfig({
      flags: { ...rest, dataDir: dataDir ?? rest.dataDir },
      env: process.env,
      cwd: process.cwd(),
    })
  }

  /** An AbortSignal that fires on SIGINT/SIGTERM; long operations take it and stop cleanly. */
  protected interruptSignal(): AbortSignal {
    if (this.abortController) return this.abortController.signal
    const controller = new AbortController()
    this.abortController = controller
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        // Second Ctrl-C: the user means it.
        process.exit(ExitCode.interrupted)
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

  /** A plain progress line on stderr (never stdout, which holds only the result). */
  protected progress(line: string): void {
    process.stderr.write(`${line}\n`)
  }

  protected override async init(): Promise<void> {
    await super.init()
    this.verboseErrors = this.argv.includes('--verbose')
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    const error = classify(err)
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

/** Maps oclif's own errors (bad flags, missing args) to usage errors and everything else to GameError. */
function classify(err: Error & { exitCode?: number; oclif?: { exit?: number }; code?: string }): GameError {
  if (err instanceof GameError) return err
  if (err.code === 'EEXIT' || err.oclif?.exit === 0) {
    return new GameError('EXIT', err.message, { exitCode: err.oclif?.exit ?? 0 })
  }
  const name = err.constructor?.name ?? ''
  if (
    /Flag|Arg|Parse|Validation|Unexpected|NonExistent/.test(name) ||
    /Expected|Missing required|Unexpected argument|Nonexistent flag/i.test(err.message)
  ) {
    return new GameError('USAGE', err.message.split('\n')[0], {
      exitCode: ExitCode.usage,
      hint: 'See the command help with --help.',
      cause: err,
    })
  }
  return toGameError(err)
}
