import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { brokersFlag, topicFlag } from '../flags.js'
import { type ApiLogger, startApi } from '../lib/api/index.js'
import { removeApiState, writeApiState } from '../lib/stack/api-state.js'
import { exposureWarning } from '../lib/stack/exposure.js'

export interface ApiResult {
  url: string
  brokers: string[]
  topic: string
  /** Events acked by Kafka while the API ran. */
  produced: number
  /** Produce requests sent (produced / batches = mean group-commit batch). */
  batches: number
  /** Requests answered 4xx/5xx, by reason. */
  rejections: Record<string, number>
}

export default class Api extends BaseCommand {
  static override summary = 'Run the game HTTP API: every request becomes an event in Kafka.'
  static override description =
    `Serves one route per event type of the catalog (GET /, /purchase_a_sword, /purchase_a_knife, /add_money, /join_guild, /cancel_membership, GET and POST /messages), plus GET /healthz and GET /metrics (Prometheus).

Each valid request becomes a JSON event (the type's fields, event_id, schema_version, received_at and the request headers except credentials; Host is the player id), produced to Kafka with key = Host and acks = all. The answer is sent only after the broker acked it: 200 with the catalog's text (or {"ok":true,"event_id":...} for Accept: application/json), 400/404/405/413/415 for bad requests, 503 with Retry-After when Kafka is down or slow.

Prints the URL it listens on to stdout, logs to stderr. SIGINT/SIGTERM stop accepting, finish in-flight requests and their produces, then exit 0. With --json, prints a summary document when it stops.`
  static override examples = [
    '<%= config.bin %> api',
    '<%= config.bin %> api --port 8080 --bind 0.0.0.0 --brokers kafka:9092',
    'GAME_API_PORT=5001 <%= config.bin %> api --log-requests',
  ]
  static override flags = {
    port: Flags.integer({
      summary: 'TCP port to listen on (0 = any free port).',
      env: 'GAME_API_PORT',
      default: 5000,
      min: 0,
      max: 65_535,
    }),
    bind: Flags.string({
      summary: "Address to listen on (its own setting, apiBind; not the stack's bind). Default: 127.0.0.1.",
      env: 'GAME_API_BIND',
    }),
    brokers: brokersFlag,
    topic: topicFlag,
    'log-requests': Flags.boolean({
      summary: 'Log one line per request to stderr.',
      env: 'GAME_API_LOG_REQUESTS',
    }),
    'linger-ms': Flags.integer({
      summary:
        'Group commit: how long a produce waits for more events (ms; 0: batches form while one is in flight).',
      env: 'GAME_API_LINGER_MS',
      default: 0,
      min: 0,
      helpGroup: 'TUNING',
    }),
    'max-batch': Flags.integer({
      summary: 'Group commit: most events per produce request.',
      env: 'GAME_API_MAX_BATCH',
      default: 500,
      min: 1,
      helpGroup: 'TUNING',
    }),
    'max-in-flight': Flags.integer({
      summary: 'Group commit: produce requests in flight at once.',
      env: 'GAME_API_MAX_IN_FLIGHT',
      default: 1,
      min: 1,
      helpGroup: 'TUNING',
    }),
  }

  async run(): Promise<ApiResult> {
    const { flags } = await this.parse(Api)
    const config = this.configFromFlags(flags, { bind: 'apiBind' })
    const apiBind = config.apiBind
    const verbose = flags.verbose
    const log: ApiLogger = {
      info: (m) => this.progress(`${new Date().toISOString()} info ${m}`),
      warn: (m) => this.progress(`${new Date().toISOString()} warn ${m}`),
      debug: verbose ? (m) => this.progress(`${new Date().toISOString()} debug ${m}`) : undefined,
    }
    const signal = this.interruptSignal()
    const api = await startApi(
      {
        port: flags.port,
        bind: apiBind,
        brokers: config.brokers,
        topic: config.topic,
        prices: config.prices,
        logRequests: flags['log-requests'],
        lingerMs: flags['linger-ms'],
        maxBatch: flags['max-batch'],
        maxInFlight: flags['max-in-flight'],
      },
      { log },
    )
    const exposed = exposureWarning(apiBind, `game api (bind ${apiBind}) will`)
    if (exposed) log.warn(`WARNING: ${exposed}`)
    writeApiState(config.dataDir, { pid: process.pid, url: api.url, startedAt: new Date().toISOString() })
    if (!this.jsonEnabled()) this.log(api.url)
    log.info(`game api listening on ${api.url} (brokers ${config.brokers.join(',')}, topic ${config.topic})`)
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))
    log.info('stopping: finishing in-flight requests')
    removeApiState(config.dataDir, process.pid)
    await api.close()
    // A clean shutdown on request is a success, whichever signal asked for it.
    this.interrupted = false
    const rejections: Record<string, number> = {}
    for (const e of api.metrics.rejections.entries()) rejections[e.labels.reason] = e.value
    const result: ApiResult = {
      url: api.url,
      brokers: config.brokers,
      topic: config.topic,
      produced: api.producer.stats.acked,
      batches: api.producer.stats.batches,
      rejections,
    }
    log.info(`stopped: ${result.produced} event(s) produced in ${result.batches} batch(es)`)
    return result
  }
}
