import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { brokersFlag, datanodeHostFlag, hdfsUserFlag, lakeFlag, topicFlag } from '../../flags.js'
import { DEFAULT_STREAM, type StreamSettings } from '../../lib/config.js'
import { configError } from '../../lib/errors.js'
import { createKafka } from '../../lib/kafka/client.js'
import { openLake } from '../../lib/lake/open.js'
import { StreamJob } from '../../lib/stream/job.js'
import {
  CRASH_POINTS,
  type CrashPoint,
  createStreamDeps,
  type StreamResult,
} from '../../lib/stream/stream.js'
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
    // No flag defaults here: unset flags leave the config's `stream` section (and DEFAULT_STREAM) in charge.
    group: Flags.string({
      summary: `Consumer group; processes in one group split the partitions. Default: ${DEFAULT_STREAM.group}.`,
      env: 'GAME_STREAM_GROUP',
    }),
    interval: Flags.string({
      summary: `Flush at least this often, also when no events arrive (500ms, 30s, 2m). Default: ${DEFAULT_STREAM.intervalMs / 1000}s.`,
      env: 'GAME_STREAM_INTERVAL',
    }),
    'max-rows': Flags.integer({
      summary: `Flush when this many rows are buffered. Default: ${DEFAULT_STREAM.maxRows}.`,
      min: 1,
      env: 'GAME_STREAM_MAX_ROWS',
    }),
    'max-bytes': Flags.string({
      summary: `Flush when this much row data is buffered (bytes, or 512KB, 32MB). Default: ${DEFAULT_STREAM.maxBytes / 1024 ** 2}MB.`,
      env: 'GAME_STREAM_MAX_BYTES',
    }),
    'session-timeout': Flags.string({
      summary: `Consumer-group session timeout: how long a killed process holds its partitions (e.g. 10s). Default: ${DEFAULT_STREAM.sessionTimeoutMs / 1000}s.`,
      env: 'GAME_STREAM_SESSION_TIMEOUT',
    }),
    'checkpoint-every': Flags.integer({
      summary: `Merge the lake commit records into a checkpoint every N flushes (0 = never): a delta of the records since the last one, a full checkpoint every 8th. Default: ${DEFAULT_STREAM.checkpointEvery}.`,
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
    // Each flag given overrides its key of the config's stream section (units parsed there).
    const given: Partial<Record<keyof StreamSettings, unknown>> = {
      group: flags.group,
      intervalMs: flags.interval,
      maxRows: flags['max-rows'],
      maxBytes: flags['max-bytes'],
      sessionTimeoutMs: flags['session-timeout'],
      checkpointEvery: flags['checkpoint-every'],
    }
    for (const k of Object.keys(given) as (keyof StreamSettings)[])
      if (given[k] === undefined) delete given[k]
    const config = this.configFromFlags({
      ...flags,
      stream: Object.keys(given).length > 0 ? given : undefined,
    })
    const settings = config.stream
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

    const options = {
      topic: config.topic,
      group: settings.group,
      intervalMs: settings.intervalMs,
      maxRows: settings.maxRows,
      maxBytes: settings.maxBytes,
      once: flags.once,
      fromBeginning: flags['from-beginning'],
      crashAt,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      checkpointEvery: settings.checkpointEvery,
      stagingGraceMs: settings.stagingGraceMs,
      claimLeaseMs: settings.claimLeaseMs,
      upkeep: {
        compact: config.compact,
        retentionMs: config.retention,
        graceMs: config.lakeGraceMs,
        targetSizeBytes: config.compactTargetSize,
      },
    }
    const deps = createStreamDeps(kafka, config.brokers, options)
    // A second Ctrl-C exits at once, but leaves the group first: the next run need not wait for
    // this member's session timeout. (A kill -9 cannot; the next run then says what it waits for.)
    this.lastWords = () => deps.membership.leave()
    const job = new StreamJob(options, {
      // The brokers go in once: every Kafka client of the job is built from this one list.
      ...deps,
      lake,
      onProgress: onProgress.update,
      // Test hook (GAME_STREAM_CRASH_AT): die like a kill -9 would, mid-protocol.
      crash: () => process.kill(process.pid, 'SIGKILL'),
    })
    const result = await job
      .run(signal)
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
