import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { usageError } from '../lib/errors.js'
import { type LoadResult, loadFailure, runLoad } from '../lib/load/runner.js'
import { BUILTIN_SCENARIOS } from '../lib/load/scenario.js'
import { renderLoadReport } from '../ui/load-report.js'
import { renderLoadProgressLine, renderLoadSummary } from '../ui/load-summary.js'

const number = Flags.custom<number>({
  parse: async (input) => {
    const n = Number(input)
    if (!Number.isFinite(n) || n < 0) throw new Error(`Expected a number >= 0 but received: ${input}`)
    return n
  },
})

const require = createRequire(import.meta.url)

/** The HTML report, with uPlot's minified build and CSS (pinned in package.json) read from node_modules. */
async function writeLoadReport(file: string, result: LoadResult): Promise<void> {
  const [js, css] = await Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ])
  await writeFile(file, renderLoadReport(result, { js, css }))
}

/** "30", "30s", "2m", "500ms" → seconds. */
function parseDuration(input: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(input.trim())
  if (!m)
    throw usageError(`-d/--duration ${JSON.stringify(input)} is not a duration`, 'Give seconds: 30, 30s, 2m.')
  const n = Number(m[1])
  const seconds = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n
  if (seconds <= 0) throw usageError('-d/--duration must be > 0')
  return seconds
}

export default class Load extends BaseCommand {
  static override summary = 'Drive the game API with a load scenario and report req/s, latency and errors.'
  static override description =
    `Sends HTTP requests to the game API, each carrying its player's Host header and a User-Agent with the run's id. Built-in scenarios: ${Object.values(
      BUILTIN_SCENARIOS,
    )
      .map((s) => `${s.name} (${s.description})`)
      .join('; ')}. Or give a YAML/JSON scenario file (see docs/load.md).

Count-based scenarios (seed) send exactly their counts; weight-based ones run for -n requests or -d seconds (1000 requests when neither is given). --seed makes players, amounts, items and order reproducible.

Two models. Without --rate, the closed model (autocannon): -c connections, each sending its next request when the last is answered; latency is service time, which hides queueing behind a slow answer (coordinated omission). With --rate R, the open model: request i is due at t0 + i/R whatever happened to the earlier ones; more connections are opened when all are busy (up to --max-connections, then requests queue); latency is measured from the due time (corrected), with service time beside it; a request sent more than 10 ms after its due time is counted as late. The summary says which model ran.

Thresholds (--max-p99, --max-error-rate, --min-rps) make the command exit 5 when breached; so does a run in which no request was accepted. At the end of a -d run, requests still in flight are counted as interrupted, not errors. Ctrl-C prints the partial summary, writes the ledger and exits 130. --ledger writes what was sent and accepted per player and event type, for \`game check\`; --report writes a self-contained HTML report with charts.`
  static override examples = [
    '<%= config.bin %> load --scenario seed',
    '<%= config.bin %> load --scenario shop --hosts 50 -d 30s -c 20 --seed 42',
    '<%= config.bin %> load --scenario mixed -n 5000 --max-p99 50 --max-error-rate 0.1 --ledger run.json',
    '<%= config.bin %> load --scenario ./my-scenario.yaml --host alice.example --host bob.example --rate 200 -d 10',
    '<%= config.bin %> load --scenario mixed --rate 500 -d 30s --max-p99 100 --report load.html',
  ]
  static override flags = {
    url: Flags.string({
      summary: 'Base URL of the game API. Default: the running stack, else http://127.0.0.1:5000.',
      env: 'GAME_API_URL',
    }),
    scenario: Flags.string({
      summary: `Built-in scenario (${Object.keys(BUILTIN_SCENARIOS).join(', ')}) or a YAML/JSON scenario file.`,
      env: 'GAME_LOAD_SCENARIO',
      default: 'mixed',
    }),
    host: Flags.string({ summary: 'A player (Host header); repeat for more.', multiple: true }),
    hosts: Flags.integer({ summary: 'Generate N players: player-0.example.com …', min: 1 }),
    'hosts-file': Flags.string({ summary: 'A file with one player per line (# comments).' }),
    amount: Flags.integer({
      char: 'n',
      summary: 'Total requests (weight-based scenarios).',
      min: 1,
      exclusive: ['duration'],
    }),
    duration: Flags.string({
      char: 'd',
      summary: 'Run for this long: 30, 30s, 2m (weight-based scenarios).',
    }),
    connections: Flags.integer({
      char: 'c',
      summary: 'Connections: all of them in the closed model; the ones opened up front with --rate.',
      env: 'GAME_LOAD_CONNECTIONS',
      default: 10,
      min: 1,
    }),
    rate: number({
      summary:
        'Open model: R requests/s on a fixed schedule, latency from each due time. Default: closed model.',
      env: 'GAME_LOAD_RATE',
    }),
    'max-connections': Flags.integer({
      summary: 'Open model: open at most this many connections when all are busy; past it requests queue.',
      default: 1000,
      min: 1,
    }),
    report: Flags.string({
      summary: 'Write a self-contained HTML report (charts, tables; works offline) to this file.',
    }),
    seed: Flags.string({
      summary: 'Seed for every random choice; a random one is used and reported otherwise.',
      env: 'GAME_LOAD_SEED',
    }),
    ledger: Flags.string({
      summary: 'Write what was sent and accepted per player and event type to this JSON file.',
    }),
    'max-p99': number({
      summary: 'Fail (exit 5) when p99 latency (corrected, with --rate) is above this many ms.',
      helpGroup: 'THRESHOLDS',
    }),
    'max-error-rate': number({
      summary:
        'Fail (exit 5) when more than this % of requests got a non-2xx, timed out or lost their connection.',
      helpGroup: 'THRESHOLDS',
    }),
    'min-rps': number({
      summary: 'Fail (exit 5) when fewer requests/s were answered.',
      helpGroup: 'THRESHOLDS',
    }),
    timeout: Flags.integer({
      summary: 'Seconds before a request without an answer is a timeout.',
      default: 10,
      min: 1,
    }),
  }

  async run(): Promise<LoadResult> {
    const { flags } = await this.parse(Load)
    const config = this.configFromFlags(flags, { url: 'apiUrl' })
    if (flags.rate === 0) throw usageError('--rate must be > 0', 'Give requests per second, e.g. --rate 500.')
    const progress = await this.progressView(
      async () => (await import('../ui/load-progress.js')).LoadProgressView,
      renderLoadProgressLine,
    )
    let result: LoadResult
    try {
      result = await runLoad(
        {
          url: config.apiUrl,
          scenario: flags.scenario,
          hosts: flags.host,
          hostCount: flags.hosts,
          hostsFile: flags['hosts-file'],
          amount: flags.amount,
          durationSec: flags.duration === undefined ? undefined : parseDuration(flags.duration),
          connections: flags.connections,
          rate: flags.rate,
          maxConnections: Math.max(flags['max-connections'], flags.connections),
          seed: flags.seed,
          ledgerFile: flags.ledger,
          timeoutSec: flags.timeout,
          thresholds: {
            maxP99Ms: flags['max-p99'],
            maxErrorRatePct: flags['max-error-rate'],
            minRps: flags['min-rps'],
          },
        },
        { onProgress: progress.update, signal: this.interruptSignal(), onAbort: 'return' },
      )
    } finally {
      progress.done()
    }
    if (flags.report) await writeLoadReport(flags.report, result)
    const failure = loadFailure(result)
    if (!this.jsonEnabled()) {
      this.log(renderLoadSummary(result, { color: this.color }))
      if (flags.report) this.log(`HTML report written to ${flags.report}`)
    }
    return failure ? this.resultFailed(result, failure) : result
  }
}
