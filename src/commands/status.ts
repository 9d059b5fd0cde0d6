import { BaseCommand } from '../base-command.js'
import { brokersFlag, lakeFlag } from '../flags.js'
import { GameError } from '../lib/errors.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { stackStatus } from '../lib/stack/stack.js'
import { allRunning, degradedServices } from '../lib/stack/status.js'
import type { StackStatusResult } from '../lib/stack/types.js'
import { STATUS_HEAD, statusRows, TOPIC_HEAD, topicRows } from '../ui/status.js'
import { renderTable } from '../ui/table.js'

export default class Status extends BaseCommand {
  static override summary = "Show the stack's services, their health, and Kafka topics with offsets."
  static override description =
    `Probes each service of the running stack (Kafka metadata, WebHDFS GETFILESTATUS) and a running \`game api\` (its /healthz), with each one's health and probe latency, and lists every topic partition with its earliest and latest offsets.
With --brokers / --lake (or GAME_BROKERS / GAME_LAKE) it probes that cluster instead (mode "external"), for users who never run game up; addresses that are this data dir's own running stack mean that stack.
Exits 4 when the stack is not running or a service does not answer, 1 when Kafka answers but cannot write its log (state "degraded": a full disk).`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --brokers kafka1:9092,kafka2:9092 --lake hdfs://namenode:9870/tmp',
  ]
  static override flags = { brokers: brokersFlag, lake: lakeFlag }

  async run(): Promise<StackStatusResult> {
    const { flags } = await this.parse(Status)
    const config = this.configFromFlags(flags)
    const explicit = flags.brokers !== undefined || flags.lake !== undefined
    const result = await stackStatus({
      dataDir: config.dataDir,
      spawner: nodeSpawner,
      hdfsUser: config.hdfsUser,
      external: explicit ? { brokers: config.brokers, lake: config.lake } : undefined,
      onProgress: (line) => this.progress(line),
    })
    if (!this.jsonEnabled()) {
      const color = this.color
      this.log(renderTable(STATUS_HEAD, statusRows(result), { color }))
      if (result.topics && result.topics.length > 0) {
        this.log(renderTable(TOPIC_HEAD, topicRows(result.topics), { color, alignRight: [1, 2, 3, 4] }))
      } else if (result.topics) {
        this.log('No topics.')
      }
    }
    for (const w of result.warnings ?? []) this.progress(`WARNING: ${w}`)
    if (!allRunning(result.services)) {
      const down = result.services.filter((s) => s.state !== 'running')
      return this.resultFailed(
        result,
        new GameError(
          'SERVICES_DOWN',
          `Not answering: ${down.map((s) => `${s.name} at ${s.address}`).join(', ')}`,
          {
            hint: 'Run `game logs` to see why, then `game down && game up`; `game doctor` checks the rest.',
            details: { down: down.map((s) => s.name) },
          },
        ),
      )
    }
    const degraded = degradedServices(result.services)
    if (degraded.length > 0) {
      return this.resultFailed(
        result,
        new GameError(
          'KAFKA_STORAGE_ERROR',
          degraded.map((s) => `${s.name} at ${s.address}: ${s.detail}`).join('; '),
          { hint: degraded[0].hint, details: { degraded: degraded.map((s) => s.name) } },
        ),
      )
    }
    return result
  }
}
