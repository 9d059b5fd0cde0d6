import { randomBytes } from 'node:crypto'
import type { DeferredBytes } from '../../protocol/primitives.js'
import type { WriteFaults } from './files.js'
import type { StorageEvent, StorageHealth } from './health.js'

export type { StorageEvent, StorageHealth } from './health.js'
/**
 * The contract between the broker's wire layer (protocol/, group/, server.ts) and its durable
 * storage (log/). The wire layer never touches files; the log never parses Kafka requests.
 * Offsets are bigint throughout.
 */

export interface TopicConfig {
  /** Delete whole segments once the partition is larger than this many bytes (-1 = keep all). */
  retentionBytes: number
  /** Delete whole segments whose newest batch is older than this many ms (-1 = keep all). */
  retentionMs: number
  /** Roll to a new segment file once the active one reaches this many bytes. */
  segmentBytes: number
}

export interface TopicInfo {
  name: string
  /** Kafka's topic id: a random UUID (base64url, as Uuid.toString) kept for the topic's life; a
   * topic deleted and created again gets a new one. */
  id: string
  partitions: number
  config: TopicConfig
}

/** A new topic id: 16 random bytes as Kafka's base64url Uuid string (never the zero or sentinel id). */
export function newTopicId(): string {
  for (;;) {
    const bytes = randomBytes(16)
    const id = bytes.toString('base64url')
    if (id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ' && !id.startsWith('-')) return id
  }
}

export interface AppendResult {
  /** Offset assigned to the first record of the first batch. */
  baseOffset: bigint
  /** Log start offset after the append. */
  logStartOffset: bigint
}

export interface ReadResult {
  /** Whole RecordBatches, concatenated, exactly as stored (may start before fetchOffset). */
  records: Buffer
  highWatermark: bigint
  logStartOffset: bigint
}

export interface DeferredReadResult {
  records: DeferredBytes
  highWatermark: bigint
  logStartOffset: bigint
}

export interface PartitionLog {
  readonly topic: string
  readonly partition: number
  /** First offset still stored. */
  logStartOffset(): bigint
  /** Next offset to be assigned (= high watermark on a single node; only durable data is visible). */
  highWatermark(): bigint
  /**
   * Appends one or more RecordBatches (v2, magic 2) as sent by a producer: validated (length,
   * magic, CRC-32C), base offsets rewritten, stored byte for byte otherwise. Resolves once the data
   * is durable under the fsync policy. Throws LogError('CORRUPT_MESSAGE') on a bad batch, in which
   * case nothing is appended. Batches with a producer id are checked as Kafka does (producer-state.ts):
   * a retry of one of the producer's last 5 batches is not stored again and resolves with the
   * original base offset; a sequence gap or stale epoch throws OUT_OF_ORDER_SEQUENCE_NUMBER /
   * INVALID_PRODUCER_EPOCH.
   */
  append(batches: Buffer): Promise<AppendResult>
  /**
   * Reads whole batches starting with the batch that contains `offset`, up to about `maxBytes`
   * (always at least one whole batch if any exists at or after offset). Throws
   * LogError('OFFSET_OUT_OF_RANGE') if offset < logStartOffset or offset > highWatermark.
   */
  read(offset: bigint, maxBytes: number): Promise<ReadResult>
  /**
   * The same batches as read(), but left in the segment files: `records` is a DeferredBytes that the
   * server reads in small pieces while it sends the response (release it when done). Optional: a log
   * without files (memory) has only read().
   */
  readDeferred?(offset: bigint, maxBytes: number): Promise<DeferredReadResult>
  /** The earliest offset whose batch maxTimestamp >= timestamp, or null if none (ListOffsets by time). */
  offsetForTimestamp(timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint } | null>
  /**
   * DeleteRecords: moves the log start up to `offset` (-1 = the high watermark), durably; reads below
   * it get OFFSET_OUT_OF_RANGE. Returns the new log start. Throws OFFSET_OUT_OF_RANGE past the high
   * watermark. Whole segments below the new start go at the next retention run or open.
   */
  deleteRecordsBefore(offset: bigint): Promise<bigint>
  /** Resolves when highWatermark() > offset, or after timeoutMs, or when signal aborts. For long-poll fetch. */
  waitForData(offset: bigint, timeoutMs: number, signal?: AbortSignal): Promise<void>
  /** Bytes stored on disk for this partition. */
  sizeBytes(): number
}

export interface CommittedOffset {
  offset: bigint
  metadata: string | null
  commitTimestamp: number
}

export interface GroupOffsetStore {
  commit(group: string, topic: string, partition: number, value: CommittedOffset): Promise<void>
  /** Commits several offsets durably in one write. */
  commitMany(
    group: string,
    entries: { topic: string; partition: number; value: CommittedOffset }[],
  ): Promise<void>
  fetch(group: string, topic: string, partition: number): CommittedOffset | undefined
  /** Every committed (topic, partition) of a group. */
  fetchAll(group: string): { topic: string; partition: number; value: CommittedOffset }[]
  groups(): string[]
  /** The last generation id handed out for a group, persisted so generations never go backwards. */
  lastGeneration(group: string): number
  setGeneration(group: string, generation: number): Promise<void>
  deleteTopic(topic: string): Promise<void>
  /** Forgets a group: its committed offsets and generation (DeleteGroups), durably. */
  deleteGroup(group: string): Promise<void>
}

export type FsyncPolicy = 'always' | { intervalMs: number }

export { DEFAULT_FSYNC_INTERVAL_MS } from '../../config.js'

export interface LogManagerOptions {
  dataDir: string
  fsync: FsyncPolicy
  defaultTopicConfig?: Partial<TopicConfig>
  /** How often retention runs (ms; default 5 minutes, 0 = only at open). */
  retentionCheckIntervalMs?: number
  /** Most file handles the log keeps open at once (default 256). */
  maxOpenFiles?: number
  /** Compact the group offsets log once it exceeds this many bytes (default 4 MiB). */
  offsetsCompactBytes?: number
  /** Clock for retention by age (default Date.now). */
  now?: () => number
  /**
   * After a failed write (a full disk), a partition refuses appends for this long (ms, default 250)
   * and then lets the next append try the disk again.
   */
  storageRetryMs?: number
  /**
   * A storage episode ends once writes have worked for this long (ms, default 5000), so that a
   * nearly full disk, where small writes succeed between large ones that fail, makes one episode.
   */
  storageSettleMs?: number
  /** Hears the start and the end of each storage failure episode (once each, not per request). */
  onStorageEvent?: (event: StorageEvent) => void
  /** Test hook: simulated write failures (e.g. a DiskBudget). */
  faults?: WriteFaults
}

export interface LogManager {
  /** Topics, loaded from disk at open. */
  topics(): TopicInfo[]
  topic(name: string): TopicInfo | undefined
  createTopic(name: string, partitions: number, config?: Partial<TopicConfig>): Promise<TopicInfo>
  deleteTopic(name: string): Promise<void>
  /** CreatePartitions: grows the topic to `total` partitions (never shrinks), durably. */
  createPartitions(name: string, total: number): Promise<TopicInfo>
  partition(topic: string, partition: number): PartitionLog | undefined
  readonly offsets: GroupOffsetStore
  /** Whether writes work now; absent for a log without files. */
  storageHealth?(): StorageHealth
  /** The directory the log lives in (its file system's free space is what matters); absent in memory. */
  readonly dataDir?: string
  /** Flushes and closes every file. */
  close(): Promise<void>
}

export type LogErrorCode =
  | 'CORRUPT_MESSAGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'TOPIC_ALREADY_EXISTS'
  | 'INVALID_TOPIC'
  | 'INVALID_PARTITIONS'
  | 'STORAGE_ERROR'
  /** A topic config value out of range (Kafka INVALID_CONFIG, 40). */
  | 'INVALID_CONFIG'
  /** Idempotent produce: a sequence gap, or a new epoch not starting at 0 (Kafka 45). */
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  /** Idempotent produce: an epoch older than the last one seen for the producer id (Kafka 47). */
  | 'INVALID_PRODUCER_EPOCH'
  /** Valid batches follow a damaged one: recovery refuses to truncate acknowledged data. */
  | 'CORRUPT_LOG'
  /** Another process (or another open in this one) holds the log directory's lock. */
  | 'LOG_LOCKED'

export class LogError extends Error {
  constructor(
    readonly code: LogErrorCode,
    message: string,
    /** What to run next, when there is something better than the caller's generic hint. */
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'LogError'
  }
}

/** Kafka's topic name rule: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return /^[a-zA-Z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..'
}
