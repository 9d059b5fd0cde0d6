import type { Kafka } from 'kafkajs'
import { DEFAULT_STREAM } from '../config.js'
import type { TableName } from '../events/catalog.js'
import { createLeanFetcher } from '../kafka/lean-fetcher.js'
import type { PublishStep } from '../lake/commit.js'
import type { CompactorOptions } from '../lake/compactor.js'
import { createParquetWriter, type ParquetCompression } from '../lake/parquet.js'
import type { Lake } from '../lake/types.js'
import type { CrashPoint, FlushInfo } from './flusher.js'
import { type JobDeps, StreamJob } from './job.js'
import { kafkaMembership } from './membership.js'

/**
 * `game stream`'s entry points and shapes. The job is StreamJob (job.ts) with its parts in
 * planner.ts, fetch-loop.ts, flusher.ts and membership.ts; `createStreamDeps` builds its Kafka
 * and Parquet dependencies from one set of brokers.
 */
export type { CrashPoint, FlushInfo } from './flusher.js'
export { kafkaUnreachable } from './membership.js'
export { removeStaleScratch } from './scratch.js'

export const CRASH_POINTS: readonly CrashPoint[] = [
  'after-staging',
  'after-commit-record',
  'after-publish',
  'before-offset-commit',
] satisfies readonly (PublishStep | 'before-offset-commit')[]

export interface StreamOptions {
  topic: string
  /** Consumer group; several processes in one group split the partitions. */
  group: string
  /** Flush at the latest this long after the previous flush (also when no new events arrive). */
  intervalMs: number
  /** Flush when this many rows are buffered. */
  maxRows: number
  /** Flush when this many bytes of rows are buffered. */
  maxBytes: number
  /** Consume until caught up with the end offsets seen at start, flush, return. */
  once: boolean
  /** Partitions the lake has no commit for start at the earliest offset (else: group offset, else latest). */
  fromBeginning: boolean
  compression?: ParquetCompression
  /** Local scratch directory (default os.tmpdir()). */
  tempDir?: string
  /** Uncommitted staging older than this is rolled back at start (default: config's stream.stagingGraceMs). */
  stagingGraceMs?: number
  /** DuckDB memory_limit (default 128MB). */
  memoryLimit?: string
  /** Consumer-group session timeout: how long a killed member holds its partitions. */
  sessionTimeoutMs?: number
  /**
   * Kafka bootstrap servers, only for streamToLake with a kafkajs client in deps (it builds the
   * fetcher from them); a job given its deps (createStreamDeps) needs none.
   */
  brokers?: string[]
  /** Write a lake checkpoint after every this many flushes of this process (0: never). */
  checkpointEvery?: number
  /** How long a partition claim may wait for its commit record (layout.ts, partition claims). */
  claimLeaseMs?: number
  /** Test hook: call deps.crash at this point of the first flush that has files. */
  crashAt?: CrashPoint
  /** The lake's upkeep in the background (lake/compactor.ts); undefined: none. */
  upkeep?: CompactorOptions
}

export interface StreamProgress {
  phase: 'starting' | 'consuming' | 'stopping' | 'done'
  events: number
  /** Events per second of the run so far (units.ts perSecond). */
  eventsPerSec: number
  rejected: number
  /** Record batches that did not decode (each one `rejected` row naming its offset range). */
  undecodable: number
  /** The last undecodable batch: topic/partition, offsets and reason. */
  lastUndecodable?: string
  /** Rows published per table. */
  rows: Record<TableName, number>
  buffered: number
  lag: Record<string, number>
  assigned: number[]
  flushes: number
  lastFlush?: FlushInfo
  /** Warnings so far (also in the result): a long-running stream shows them as they happen. */
  warnings: readonly string[]
  /** While joining the group takes long (phase 'starting'): what it waits for, and how long so far. */
  waiting?: string
}

export interface StreamResult {
  topic: string
  group: string
  /** Kafka messages processed (duplicates skipped are not counted). */
  events: number
  /** Rows published per table. */
  rows: Record<TableName, number>
  rejected: number
  /** Record batches that did not decode (see StreamProgress). */
  undecodable: number
  lastUndecodable?: string
  flushes: number
  /** Per partition, the next offset to consume, as the lake's commit records say after this run. */
  offsets: Record<string, string>
  durationMs: number
  commits: string[]
  recovered: { rolledForward: string[]; rolledBack: string[] }
  /** Why the stream stopped. */
  stoppedBy: 'caught-up' | 'signal'
  /** Non-fatal problems (e.g. a Kafka offset commit that failed; the lake stays the truth). */
  warnings: string[]
  /** Fields of no catalog type seen in this run's events (kept in raw_event only): name → events. */
  unknownFields?: Record<string, number>
}

export interface Clock {
  now(): number
}

export interface StreamDeps {
  /** A kafkajs client: streamToLake builds the group membership from it (and the fetcher from options.brokers). */
  kafka: Kafka
  lake: Lake
  clock?: Clock
  onProgress?: (progress: StreamProgress) => void
  /** Called at options.crashAt; the command layer kills the process there. */
  crash?: (point: CrashPoint) => void
}

/** The job's Kafka and Parquet dependencies, all from one kafkajs client and one broker list. */
export function createStreamDeps(
  kafka: Kafka,
  brokers: string[],
  options: Pick<
    StreamOptions,
    'topic' | 'group' | 'fromBeginning' | 'sessionTimeoutMs' | 'compression' | 'memoryLimit'
  >,
): Pick<JobDeps, 'fetcher' | 'membership' | 'parquet' | 'brokers'> {
  return {
    brokers,
    fetcher: createLeanFetcher({ brokers, topic: options.topic, clientId: `${options.group}-fetch` }),
    membership: kafkaMembership(kafka, {
      topic: options.topic,
      group: options.group,
      brokers,
      fromBeginning: options.fromBeginning,
      sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULT_STREAM.sessionTimeoutMs,
    }),
    parquet: () =>
      createParquetWriter({ compression: options.compression, memoryLimit: options.memoryLimit }),
  }
}

/**
 * The streaming job with its dependencies built from a kafkajs client and options.brokers (see
 * StreamJob): consume, route, buffer, flush through the lake commit protocol, exactly once.
 */
export async function streamToLake(
  options: StreamOptions,
  deps: StreamDeps,
  signal?: AbortSignal,
): Promise<StreamResult> {
  const { kafka, ...rest } = deps
  const job = new StreamJob(options, { ...rest, ...createStreamDeps(kafka, options.brokers ?? [], options) })
  return job.run(signal)
}
