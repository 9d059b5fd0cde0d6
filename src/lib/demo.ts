import type { Kafka } from 'kafkajs'
import { startApi } from './api/server.js'
import { DEFAULT_STREAM } from './config.js'
import { GameError } from './errors.js'
import { createKafka } from './kafka/client.js'
import { openLake } from './lake/open.js'
import type { Lake } from './lake/types.js'
import { type LoadResult, runLoad } from './load/runner.js'
import { openLakeQuery } from './report/engine.js'
import { type ReportName, type ReportResult, runReport } from './report/reports.js'
import { lakeCacheDir } from './report/snapshot.js'
import { type StartStackOptions, type StopStackOptions, startStack, stopStack } from './stack/stack.js'
import type { StackStatusResult } from './stack/types.js'
import { type StreamResult, streamToLake } from './stream/stream.js'

/**
 * `game demo`: the whole pipeline once, on the embedded stack, with the seed notebook's data:
 * up → API → seed load → stream --once → the notebook's reports → stack left running (or down).
 */

export interface DemoOptions {
  /** How to start the stack (the command layer knows the daemon command and the spawner). */
  stack: StartStackOptions
  /** Given with --down: how to stop it afterwards. */
  stop?: StopStackOptions
  topic: string
  hdfsUser: string
  /** Lake path under the stack's WebHDFS gateway (default /tmp, the seed's paths). */
  lakePath?: string
  /** The data dir: report snapshots are cached under it, as `game report` does. */
  dataDir: string
  prices?: { sword: number; knife: number }
  /** The stream's consumer group. */
  group?: string
  /** How the user runs the CLI, for the "Next, try" lines: `game`, or `npx game` (default `game`). */
  invokedAs?: string
}

export type DemoStepName = 'up' | 'api' | 'load' | 'stream' | 'reports' | 'down'

export interface DemoProgress {
  step: DemoStepName
  index: number
  total: number
  state: 'start' | 'done'
  message: string
}

export interface DemoDeps {
  onProgress?: (p: DemoProgress) => void
  /** Detailed lines from the steps (stack start-up, stream progress). */
  onDetail?: (line: string) => void
  signal?: AbortSignal
}

/** One of the notebook's questions, answered by a report. */
export interface DemoReport {
  title: string
  explanation: string
  /** The seed notebook's Spark SQL this answers. */
  notebookSql: string
  result: ReportResult
}

export interface DemoResult {
  stack: StackStatusResult
  api: { url: string }
  load: LoadResult
  stream: StreamResult
  reports: DemoReport[]
  /** Events already in the lake before this run (a second demo adds to the first's numbers). */
  lakeHadData: boolean
  stackLeftRunning: boolean
  next: string[]
  steps: { step: DemoStepName; ms: number }[]
}

interface ReportPlan {
  name: ReportName
  title: string
  explanation: string
  notebookSql: string
  host?: string
}

const REPORT_PLAN: ReportPlan[] = [
  {
    name: 'purchases',
    title: 'Purchases by type',
    explanation: 'Knives outsell swords: 15 knives and 2 swords were bought.',
    notebookSql: 'select event_type, count(event_type) from purchases group by event_type',
  },
  {
    name: 'purchases',
    title: "oski.berkeley.edu's purchases",
    explanation: 'oski bought every one of them: a power spender to keep.',
    notebookSql:
      'select event_type, count(event_type) from purchases where host = "oski.berkeley.edu" group by event_type',
    host: 'oski.berkeley.edu',
  },
  {
    name: 'money',
    title: 'Money added per player',
    explanation: 'oski added 10000 coins in 100 top-ups; localhost 150 over 20 (avg 7.5).',
    notebookSql:
      'select Host, sum(amount_int), avg(amount_int), count(amount_int) from add_money group by Host',
  },
  {
    name: 'balances',
    title: 'Balances',
    explanation: 'Money added minus coins spent: oski is left with 9830.',
    notebookSql: 'select Host, sum(amount_int) from transactions group by Host',
  },
  {
    name: 'guilds',
    title: 'Guild joins and cancellations',
    explanation: 'The stanford player joined the stanford guild and cancelled soon after; berkeley stayed.',
    notebookSql: 'select * from guild_membership; select * from cancel_membership',
  },
  {
    name: 'messages',
    title: 'Messages',
    explanation: 'The message board: one message posted with GET, one with POST.',
    notebookSql: 'select * from messages2',
  },
]

async function lakeHasCommits(lake: Lake): Promise<boolean> {
  return (await lake.list('_game/commits')).length > 0
}

export async function runDemo(options: DemoOptions, deps: DemoDeps = {}): Promise<DemoResult> {
  const total = options.stop ? 6 : 5
  const steps: DemoResult['steps'] = []
  const detail = deps.onDetail ?? (() => {})
  let index = 0
  const step = async <T>(name: DemoStepName, message: string, fn: () => Promise<T>): Promise<T> => {
    index++
    const started = Date.now()
    deps.onProgress?.({ step: name, index, total, state: 'start', message })
    deps.signal?.throwIfAborted()
    const value = await fn()
    steps.push({ step: name, ms: Date.now() - started })
    deps.onProgress?.({ step: name, index, total, state: 'done', message })
    return value
  }

  const stack = await step('up', 'Starting the embedded stack (Kafka + WebHDFS)', () =>
    startStack({ ...options.stack, onProgress: detail, signal: deps.signal }),
  )
  const kafkaAddress = stack.services.find((s) => s.name === 'kafka')?.address
  const hdfsAddress = stack.services.find((s) => s.name === 'hdfs')?.address
  if (!kafkaAddress || !hdfsAddress) {
    throw new GameError('DEMO_STACK', 'The stack did not report Kafka and HDFS addresses', {
      hint: 'Run `game status` to see what is running, or `game down` and try again.',
    })
  }
  const brokers = [kafkaAddress]
  const lakeUrl = `hdfs://${hdfsAddress}${options.lakePath ?? '/tmp'}`
  const lake = openLake(lakeUrl, { hdfsUser: options.hdfsUser })
  const lakeHadData = await lakeHasCommits(lake)

  const kafka: Kafka = createKafka({ brokers, clientId: 'game-demo', level: 'error' })
  const api = await step('api', 'Starting the game API', () =>
    // No kafkajs client passed: the API produces the way `game api` does (its lean producer).
    startApi({ port: 0, bind: '127.0.0.1', brokers, topic: options.topic, prices: options.prices }),
  )
  let load: LoadResult
  try {
    load = await step('load', `Playing the seed scenario against ${api.url}`, () =>
      runLoad({ url: api.url, scenario: 'seed', connections: 1, seed: 205 }, { signal: deps.signal }),
    )
  } finally {
    await api.close()
  }
  if (load.requests.accepted !== load.requests.sent) {
    throw new GameError(
      'DEMO_LOAD',
      `The API accepted ${load.requests.accepted} of ${load.requests.sent} seed requests`,
      { hint: 'Run `game logs` and `game status` to see whether Kafka is healthy.' },
    )
  }

  const stream = await step('stream', 'Streaming Kafka into Parquet tables on HDFS (--once)', () =>
    streamToLake(
      {
        topic: options.topic,
        group: options.group ?? DEFAULT_STREAM.group,
        brokers,
        intervalMs: 30_000,
        maxRows: 100_000,
        maxBytes: 64 * 1024 * 1024,
        once: true,
        fromBeginning: true,
      },
      {
        kafka,
        lake,
        onProgress: (p) => detail(`stream: ${JSON.stringify(p)}`),
      },
      deps.signal,
    ),
  )

  const reports = await step('reports', "Answering the seed notebook's questions", async () => {
    const query = await openLakeQuery({
      lake,
      cacheDir: lakeCacheDir(options.dataDir, lakeUrl),
      signal: deps.signal,
    })
    try {
      const out: DemoReport[] = []
      for (const plan of REPORT_PLAN) {
        const result = await runReport(plan.name, { query, filters: plan.host ? { host: plan.host } : {} })
        out.push({ title: plan.title, explanation: plan.explanation, notebookSql: plan.notebookSql, result })
      }
      return out
    } finally {
      query.close()
    }
  })

  if (options.stop) {
    const stop = options.stop
    await step('down', 'Stopping the stack (data kept)', () => stopStack({ ...stop, onProgress: detail }))
  }

  const asInvoked = (line: string) => line.replaceAll(/(^|&& )game /g, `$1${options.invokedAs ?? 'game'} `)
  return {
    stack,
    api: { url: api.url },
    load,
    stream,
    reports,
    lakeHadData,
    stackLeftRunning: !options.stop,
    next: options.stop
      ? ['game up', 'game report balances'].map(asInvoked)
      : [
          'game report balances --chart',
          'game query "select Host, sum(amount) from transactions group by Host"',
          'game api   # then: curl -H "Host: me.example.com" "localhost:5000/add_money?amount=50"',
          'game load --host oski.berkeley.edu --scenario shop -n 500',
          'game stream --once && game report overview',
          'game down',
        ].map(asInvoked),
    steps,
  }
}
