/**
 * The broker's durable storage: topics.json (tmp -> fsync -> rename), one Partition per
 * `<dataDir>/<topic>-<p>/`, the group offsets log under `<dataDir>/__groups/`, retention on an
 * interval and at open, and the interval fsync timer when the policy is {intervalMs}.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { FileCache, writeFileDurable } from './files.js'
import { type StorageHealth, StorageHealthTracker } from './health.js'
import { type DirLock, lockLogDir } from './lock.js'
import { FileGroupOffsetStore } from './offsets.js'
import { DEFAULT_STORAGE_RETRY_MS, IndexCache, Partition } from './partition.js'
import {
  isValidTopicName,
  LogError,
  type LogManager,
  type LogManagerOptions,
  newTopicId,
  type PartitionLog,
  type TopicConfig,
  type TopicInfo,
} from './types.js'

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retentionBytes: -1,
  retentionMs: -1,
  segmentBytes: 64 * 1024 * 1024,
}
export const MAX_PARTITIONS = 10000
const DEFAULT_RETENTION_CHECK_MS = 5 * 60 * 1000
const DEFAULT_STORAGE_SETTLE_MS = 5000
const MAX_SEGMENT_BYTES = 0x7fffffff
/** Partitions opened (recovered) in parallel at open and createTopic. */
const OPEN_CONCURRENCY = 16

export interface RetentionResult {
  /** Segments deleted across all partitions. */
  deletedSegments: number
}

/** What openLogManager returns: the LogManager contract plus a few operational extras. */
export interface DurableLogManager extends LogManager {
  /** Runs retention now on every partition. */
  enforceRetention(): Promise<RetentionResult>
  /** Makes every written byte durable now (matters under the interval fsync policy). */
  flush(): Promise<void>
  /** Open file handles held by the log (bounded by maxOpenFiles). */
  openFiles(): number
  storageHealth(): StorageHealth
  readonly dataDir: string
}

interface TopicEntry {
  info: TopicInfo
  partitions: Partition[]
}

/** Validates and completes a topic config over the defaults. */
export function resolveTopicConfig(base: TopicConfig, override?: Partial<TopicConfig>): TopicConfig {
  const c: TopicConfig = { ...base }
  for (const k of ['retentionBytes', 'retentionMs', 'segmentBytes'] as const) {
    const v = override?.[k]
    if (v !== undefined) c[k] = v
  }
  for (const k of ['retentionBytes', 'retentionMs'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < -1)
      throw new LogError(
        'INVALID_CONFIG',
        `${k} must be -1 (keep all) or a non-negative integer, got ${c[k]}`,
      )
  }
  if (!Number.isSafeInteger(c.segmentBytes) || c.segmentBytes < 1 || c.segmentBytes > MAX_SEGMENT_BYTES)
    throw new LogError(
      'INVALID_CONFIG',
      `segmentBytes must be 1..${MAX_SEGMENT_BYTES}, got ${c.segmentBytes}`,
    )
  return c
}

class FileLogManager implements DurableLogManager {
  private readonly topicMap = new Map<string, TopicEntry>()
  private readonly busyNames = new Set<string>()
  private readonly files: FileCache
  private readonly indexes = new IndexCache(16)
  private readonly defaults: TopicConfig
  private readonly now: () => number
  private topicsWrite: Promise<void> = Promise.resolve()
  private retentionTimer: NodeJS.Timeout | undefined
  private flushTimer: NodeJS.Timeout | undefined
  private retentionRun: Promise<RetentionResult> | null = null
  private closing: Promise<void> | null = null
  offsets!: FileGroupOffsetStore
  private lock: DirLock | undefined
  private readonly health: StorageHealthTracker
  readonly dataDir: string

  constructor(private readonly options: LogManagerOptions) {
    this.dataDir = options.dataDir
    this.health = new StorageHealthTracker(
      options.onStorageEvent,
      Date.now,
      options.storageSettleMs ?? DEFAULT_STORAGE_SETTLE_MS,
    )
    this.files = new FileCache(options.maxOpenFiles ?? 256)
    this.defaults = resolveTopicConfig(DEFAULT_TOPIC_CONFIG, options.defaultTopicConfig)
    this.now = options.now ?? Date.now
  }

  async open(): Promise<void> {
    const { dataDir } = this.options
    await mkdir(dataDir, { recursive: true })
    this.lock = await lockLogDir(dataDir, process.pid)
    let stored: TopicInfo[] = []
    let missingIds = false
    try {
      stored = JSON.parse(await readFile(this.topicsFile(), 'utf8')) as TopicInfo[]
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new LogError('STORAGE_ERROR', `cannot read ${this.topicsFile()}: ${(err as Error).message}`)
    }
    for (const t of stored) {
      const info: TopicInfo = {
        name: t.name,
        // Topics from before topic ids get one now (persisted below).
        id: typeof t.id === 'string' && t.id.length === 22 ? t.id : newTopicId(),
        partitions: t.partitions,
        config: resolveTopicConfig(this.defaults, t.config),
      }
      if (info.id !== t.id) missingIds = true
      const partitions = await mapLimit(info.partitions, OPEN_CONCURRENCY, (p) => this.openPartition(info, p))
      this.topicMap.set(info.name, { info, partitions })
    }
    if (missingIds) await this.persistTopics()
    this.offsets = await FileGroupOffsetStore.open(path.join(dataDir, '__groups'), {
      compactBytes: this.options.offsetsCompactBytes,
      health: this.health,
      faults: this.options.faults,
    })
    await this.enforceRetention()
    const every = this.options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_MS
    if (every > 0) {
      this.retentionTimer = setInterval(() => void this.enforceRetention().catch(() => undefined), every)
      this.retentionTimer.unref()
    }
    const { fsync } = this.options
    if (fsync !== 'always') {
      this.flushTimer = setInterval(() => void this.flush().catch(() => undefined), fsync.intervalMs)
      this.flushTimer.unref()
    }
  }

  topics(): TopicInfo[] {
    return [...this.topicMap.values()].map((t) => copyInfo(t.info))
  }

  topic(name: string): TopicInfo | undefined {
    const t = this.topicMap.get(name)
    return t ? copyInfo(t.info) : undefined
  }

  async createTopic(name: string, partitions: number, config?: Partial<TopicConfig>): Promise<TopicInfo> {
    this.checkOpen()
    if (!isValidTopicName(name))
      throw new LogError(
        'INVALID_TOPIC',
        `invalid topic name ${JSON.stringify(name)}: use 1-249 characters of [a-zA-Z0-9._-], not "." or ".."`,
      )
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS)
      throw new LogError('INVALID_PARTITIONS', `partitions must be 1..${MAX_PARTITIONS}, got ${partitions}`)
    const resolved = resolveTopicConfig(this.defaults, config)
    if (this.topicMap.has(name) || this.busyNames.has(name))
      throw new LogError('TOPIC_ALREADY_EXISTS', `topic ${name} already exists`)
    this.busyNames.add(name)
    try {
      const info: TopicInfo = { name, id: newTopicId(), partitions, config: resolved }
      const parts: Partition[] = []
      try {
        const opened = await mapLimit(partitions, OPEN_CONCURRENCY, async (p) => {
          // Leftovers of an earlier topic of the same name (deleted, crash before cleanup) go first.
          await rm(this.partitionDir(name, p), { recursive: true, force: true })
          const part = await this.openPartition(info, p)
          parts.push(part)
          return part
        })
        this.topicMap.set(name, { info, partitions: opened })
        await this.persistTopics()
      } catch (err) {
        this.topicMap.delete(name)
        for (const p of parts) await p.close().catch(() => undefined)
        for (let p = 0; p < partitions; p++)
          await rm(this.partitionDir(name, p), { recursive: true, force: true }).catch(() => undefined)
        throw err instanceof LogError
          ? err
          : new LogError('STORAGE_ERROR', `cannot create topic ${name}: ${(err as Error).message}`)
      }
      return copyInfo(info)
    } finally {
      this.busyNames.delete(name)
    }
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen()
    const t = this.topicMap.get(name)
    if (!t || this.busyNames.has(name))
      throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`)
    this.busyNames.add(name)
    try {
      this.topicMap.delete(name)
      await this.persistTopics()
      for (const p of t.partitions) {
        await p.close()
        for (const f of p.segmentFiles()) await this.files.forget(f)
        await rm(p.dir, { recursive: true, force: true })
      }
      await this.offsets.deleteTopic(name)
    } finally {
      this.busyNames.delete(name)
    }
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topicMap.get(topic)?.partitions[partition]
  }

  async createPartitions(name: string, total: number): Promise<TopicInfo> {
    this.checkOpen()
    const t = this.topicMap.get(name)
    if (!t || this.busyNames.has(name))
      throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`)
    if (!Number.isInteger(total) || total <= t.info.partitions || total > MAX_PARTITIONS)
      throw new LogError(
        'INVALID_PARTITIONS',
        `topic ${name} has ${t.info.partitions} partitions; the new count must be more, at most ${MAX_PARTITIONS} (got ${total})`,
      )
    this.busyNames.add(name)
    try {
      const from = t.info.partitions
      const added = await mapLimit(total - from, OPEN_CONCURRENCY, async (i) => {
        await rm(this.partitionDir(name, from + i), { recursive: true, force: true })
        return this.openPartition(t.info, from + i)
      })
      t.partitions.push(...added)
      t.info.partitions = total
      await this.persistTopics()
      return copyInfo(t.info)
    } finally {
      this.busyNames.delete(name)
    }
  }

  enforceRetention(): Promise<RetentionResult> {
    if (this.retentionRun) return this.retentionRun
    const run = (async () => {
      let deletedSegments = 0
      const now = this.now()
      for (const t of [...this.topicMap.values()])
        for (const p of t.partitions) deletedSegments += await p.enforceRetention(now)
      return { deletedSegments }
    })()
    this.retentionRun = run
    const clear = () => {
      this.retentionRun = null
    }
    run.then(clear, clear)
    return run
  }

  async flush(): Promise<void> {
    const all = [...this.topicMap.values()].flatMap((t) => t.partitions)
    await Promise.all(all.map((p) => p.flush()))
  }

  openFiles(): number {
    return this.files.openCount
  }

  storageHealth(): StorageHealth {
    return this.health.report()
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    clearInterval(this.retentionTimer)
    clearInterval(this.flushTimer)
    await this.retentionRun?.catch(() => undefined)
    const all = [...this.topicMap.values()].flatMap((t) => t.partitions)
    await Promise.all(all.map((p) => p.close()))
    await this.topicsWrite.catch(() => undefined)
    await this.offsets?.close()
    this.health.close()
    await this.files.closeAll()
    await this.lock?.release()
  }

  private checkOpen(): void {
    if (this.closing) throw new LogError('STORAGE_ERROR', 'the log manager is closed')
  }

  private topicsFile(): string {
    return path.join(this.options.dataDir, 'topics.json')
  }

  private partitionDir(topic: string, partition: number): string {
    return path.join(this.options.dataDir, `${topic}-${partition}`)
  }

  private openPartition(info: TopicInfo, p: number): Promise<Partition> {
    return Partition.open(info.name, p, this.partitionDir(info.name, p), info.config, {
      files: this.files,
      indexes: this.indexes,
      fsync: this.options.fsync,
      storageRetryMs: this.options.storageRetryMs ?? DEFAULT_STORAGE_RETRY_MS,
      health: this.health,
      faults: this.options.faults,
    })
  }

  /** Writes topics.json (serialized: each write sees the latest map). */
  private persistTopics(): Promise<void> {
    const next = this.topicsWrite
      .catch(() => undefined)
      .then(() => {
        const list = [...this.topicMap.values()].map((t) => t.info)
        return writeFileDurable(this.topicsFile(), `${JSON.stringify(list, null, 2)}\n`, this.options.faults)
      })
    this.topicsWrite = next
    return next.then(
      () => this.health.wrote('topics.json'),
      (err) => {
        const e = new LogError(
          'STORAGE_ERROR',
          `cannot write ${this.topicsFile()}: ${(err as Error).message}`,
        )
        this.health.failed('topics.json', e.message, true)
        throw e
      },
    )
  }
}

/** Runs fn(0..n-1) with at most `limit` in flight; results in index order. */
async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  let failed = false
  const worker = async () => {
    while (next < n && !failed) {
      const i = next++
      try {
        out[i] = await fn(i)
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, n) }, worker))
  const rejected = results.find((r) => r.status === 'rejected')
  if (rejected) throw (rejected as PromiseRejectedResult).reason
  return out
}

function copyInfo(info: TopicInfo): TopicInfo {
  return { name: info.name, id: info.id, partitions: info.partitions, config: { ...info.config } }
}

function validateOptions(options: LogManagerOptions): void {
  const { fsync } = options
  if (fsync !== 'always') {
    if (typeof fsync !== 'object' || !Number.isInteger(fsync.intervalMs) || fsync.intervalMs < 1)
      throw new LogError(
        'INVALID_CONFIG',
        `fsync must be 'always' or {intervalMs >= 1}, got ${JSON.stringify(fsync)}`,
      )
  }
  if (
    options.storageSettleMs !== undefined &&
    (!Number.isSafeInteger(options.storageSettleMs) || options.storageSettleMs < 0)
  )
    throw new LogError(
      'INVALID_CONFIG',
      `storageSettleMs must be an integer >= 0, got ${options.storageSettleMs}`,
    )
  if (
    options.storageRetryMs !== undefined &&
    (!Number.isSafeInteger(options.storageRetryMs) || options.storageRetryMs < 0)
  )
    throw new LogError(
      'INVALID_CONFIG',
      `storageRetryMs must be an integer >= 0, got ${options.storageRetryMs}`,
    )
  if (
    options.maxOpenFiles !== undefined &&
    (!Number.isInteger(options.maxOpenFiles) || options.maxOpenFiles < 4)
  )
    throw new LogError('INVALID_CONFIG', `maxOpenFiles must be an integer >= 4, got ${options.maxOpenFiles}`)
}

/**
 * Opens (creating if needed) the broker's durable storage under options.dataDir, recovering every
 * partition (torn tails truncated, indexes rebuilt) and replaying committed group offsets.
 */
export async function openLogManager(options: LogManagerOptions): Promise<DurableLogManager> {
  validateOptions(options)
  const m = new FileLogManager(options)
  try {
    await m.open()
  } catch (err) {
    await m.close().catch(() => undefined)
    if (err instanceof LogError) throw err
    throw new LogError(
      'STORAGE_ERROR',
      `cannot open the broker log in ${options.dataDir}: ${(err as Error).message}`,
    )
  }
  return m
}
