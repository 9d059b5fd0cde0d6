import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { brokersFlag, datanodeHostFlag, hdfsUserFlag, lakeFlag, topicFlag } from '../../flags.js'
import { configError } from '../../lib/errors.js'
import { createKafka } from '../../lib/kafka/client.js'
import { openLake } from '../../lib/lake/open.js'
import {
  CRASH_POINTS,
  type CrashPoint,
  STREAM_DEFAULTS,
  type StreamResult,
  streamToLake,
} from '../../lib/stream/stream.js'
import { parseBytes, parseDuration } from '../../lib/stream/units.js'
import { renderStreamResult, streamProgressLine } from '../../ui/stream-summary.js'

/** How long a failed stream lets handles close before it exits anyway (the exit code is already set). */
const EXIT_GRACE_MS = 2_000

export default class Stream extends BaseCommand {
  static override summary = 'Stream game events from Kafka into the lake as Parquet tables, exactly once.'
  static override description =
    `Consumes the events topic in a consumer group, routes every event to its tables (purchases, add_money, transactions, guild_membership, cancel_membership, messages, and rejected for events that do not validate), and flushes micro-batches as Hive-partitioned Parquet (<table>/dt=YYYY-MM-DD/part-*.parquet).

A flush happens every --interval, at --max-rows or at --max-bytes, whichever comes first; the interval also fires when traffic stops, so data never waits in the buffer. Each flush is published atomically with a commit record of the Kafka offsets it covers, and only then are the offsets committed to Kafka. On start the stream finishes or rolls back any interrupted flush and resumes each partition after the offsets the lake's commit records cover, whatever the consumer group says: every event lands exactly once even if the process is killed.

Several processes with the same --group split the partitions. Partitions the lake has no commit for start at the earliest offset (--no-from-beginning: the group's offset, else the newest).

Ctrl-C or SIGTERM flushes what is buffered, commits, and exits 0.`
  static override examples = [
    '<%= config.bin %> stream',
    '<%= config.bin %> stream --once --json',
    '<%= config.bin %> stream --interval 10s --max-rows 100000 --lake file:///tmp/lake',
    'GAME_BROKERS=kafka:9092 GAME_LAKE=hdfs://namenode:9870/tmp <%= config.bin %> stream --group game-stream',
  ]
  static override flags = {
    brokers: brokersFlag,
    topic: topicFlag,
    lake: lakeFlag,
    'hdfs-user': hdfsUserFlag,
    'datanode-host': datanodeHostFlag,
    group: Flags.string({
      summary: 'Consumer group; processes in one group split the partitions.',
      default: STREAM_DEFAULTS.group,
      env: 'GAME_STREAM_GROUP',
    }),
    interval: Flags.string({
      summary: 'Flush at least this often, also when no events arrive (500ms, 30s, 2m).',
      default: '30s',
      env: 'GAME_STREAM_INTERVAL',
    }),
    'max-rows': Flags.integer({
      summary: 'Flush when this many rows are buffered.',
      default: STREAM_DEFAULTS.maxRows,
      min: 1,
      env: 'GAME_STREAM_MAX_ROWS',
    }),
    'max-bytes': Flags.string({
      summary: 'Flush when this much row data is buffered (bytes, or 512KB, 32MB).',
      default: '32MB',
      env: 'GAME_STREAM_MAX_BYTES',
    }),
    'session-timeout': Flags.string({
      summary: 'Consumer-group session timeout: how long a killed process holds its partitions (e.g. 10s).',
      default: '30s',
      env: 'GAME_STREAM_SESSION_TIMEOUT',
    }),
    'checkpoint-every': Flags.integer({
      summary: 'Merge the lake commit records into a checkpoint every N flushes (0 = never).',
      default: 50,
      min: 0,
      env: 'GAME_STREAM_CHECKPOINT_EVERY',
    }),
    once: Flags.boolean({
      summary: 'Consume until caught up with the end offsets seen at start, flush, and exit.',
    }),
    compact: Flags.boolean({
      summary:
        'Compact closed lake partitions in the background (a day after the day ends, or past 100 files); --no-compact turns it off.',
      allowNo: true,
      env: 'GAME_COMPACT',
    }),
    retention: Flags.string({
      summary: 'Expire dt partitions older than this in the background, e.g. 90d (default: keep forever).',
      env: 'GAME_RETENTION',
    }),
    'from-beginning': Flags.boolean({
      summary: 'Partitions with nothing in the lake start at the earliest offset (default).',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<StreamResult> {
    const { flags } = await this.parse(Stream)
    const config = this.configFromFlags(flags)
    const intervalMs = parseDuration(flags.interval)
    if (intervalMs === undefined)
      throw configError('interval', flags.interval, 'expected a duration like 30s')
    const maxBytes = parseBytes(flags['max-bytes'])
    if (maxBytes === undefined)
      throw configError('max-bytes', flags['max-bytes'], 'expected a size like 64MB')
    const sessionTimeoutMs = parseDuration(flags['session-timeout'])
    if (sessionTimeoutMs === undefined)
      throw configError('session-timeout', flags['session-timeout'], 'expected a duration like 30s')
    const crashAt = process.env.GAME_STREAM_CRASH_AT as CrashPoint | undefined
    if (crashAt && !CRASH_POINTS.includes(crashAt)) {
      throw configError('GAME_STREAM_CRASH_AT', crashAt, `one of ${CRASH_POINTS.join(', ')}`)
    }

    const signal = this.interruptSignal()
    const kafka = createKafka({
      brokers: config.brokers,
      clientId: 'game-stream',
      level: 'error',
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
      log: flags.verbose ? (l) => this.progress(`kafka ${l.level}: ${l.message}`) : undefined,
    })
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    const onProgress = await this.progressView(
      async () => (await import('../../ui/stream-progress.js')).StreamProgressView,
      streamProgressLine,
    )

    const result = await streamToLake(
      {
        topic: config.topic,
        group: flags.group,
        brokers: config.brokers,
        intervalMs,
        maxRows: flags['max-rows'],
        maxBytes,
        once: flags.once,
        fromBeginning: flags['from-beginning'],
        crashAt,
        sessionTimeoutMs,
        checkpointEvery: flags['checkpoint-every'],
        upkeep: {
          compact: config.compact,
          retentionMs: config.retention,
          graceMs: config.lakeGraceMs,
          targetSizeBytes: config.compactTargetSize,
        },
      },
      {
        kafka,
        lake,
        onProgress: onProgress.update,
        // Test hook (GAME_STREAM_CRASH_AT): die like a kill -9 would, mid-protocol.
        crash: () => process.kill(process.pid, 'SIGKILL'),
      },
      signal,
    )
      .catch((error: unknown) => {
        // Whatever kafkajs still holds open (reconnect timers, sockets to a broker that is gone)
        // must not keep the process alive after the error is reported: exit shortly after.
        setTimeout(() => process.exit(), EXIT_GRACE_MS).unref()
        throw error
      })
      .finally(() => onProgress.done())
    // A signal is the normal way to stop a long-running stream: it flushed and committed, so exit 0.
    this.interrupted = false
    if (!this.jsonEnabled()) this.log(renderStreamResult(result, { color: this.color }))
    return result
  }
}
