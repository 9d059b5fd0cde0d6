import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { brokersFlag, datanodeHostFlag, hdfsUserFlag, lakeFlag, topicFlag } from '../../flags.js'
import { DEFAULT_STREAM } from '../../lib/config.js'
import { createKafka } from '../../lib/kafka/client.js'
import { openLake } from '../../lib/lake/open.js'
import { type StreamStatusResult, streamStatus } from '../../lib/stream/status.js'
import { renderStreamStatus } from '../../ui/stream-summary.js'

export default class StreamStatus extends BaseCommand {
  static override summary =
    'Show where the stream is: offsets and lag per partition, files and rows per table.'
  static override description =
    `Per partition: the next offset according to the lake's commit records (where \`game stream\` resumes), the consumer group's committed offset, the end offset and the lag. Per table: published files, rows, bytes and the last commit time, from the lake's commit records.

If Kafka does not answer, the lake part is still shown, with a warning.`
  static override examples = [
    '<%= config.bin %> stream status',
    '<%= config.bin %> stream status --json',
    '<%= config.bin %> stream status --lake file:///tmp/lake --group game-stream',
  ]
  static override flags = {
    brokers: brokersFlag,
    topic: topicFlag,
    lake: lakeFlag,
    'hdfs-user': hdfsUserFlag,
    'datanode-host': datanodeHostFlag,
    group: Flags.string({
      summary: `Consumer group of the stream. Default: the config's stream.group (${DEFAULT_STREAM.group}).`,
      env: 'GAME_STREAM_GROUP',
    }),
  }

  async run(): Promise<StreamStatusResult> {
    const { flags } = await this.parse(StreamStatus)
    const config = this.configFromFlags({
      ...flags,
      stream: flags.group ? { group: flags.group } : undefined,
    })
    const kafka = createKafka({
      brokers: config.brokers,
      clientId: 'game-stream-status',
      level: 'error',
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    })
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    const result = await streamStatus(
      { topic: config.topic, group: config.stream.group, brokers: config.brokers },
      { kafka, lake },
    )
    if (!this.jsonEnabled()) this.log(renderStreamStatus(result, { color: this.color }))
    return result
  }
}
