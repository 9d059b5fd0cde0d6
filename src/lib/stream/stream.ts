import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Consumer, Kafka } from 'kafkajs'
import { ExitCode, GameError, unreachableError } from '../errors.js'
import { derivedTables, TABLE_NAMES, type TableName } from '../events/catalog.js'
import {
  createLeanFetcher,
  type FetchedPartition,
  forEachRecord,
  nextFetchOffset,
} from '../kafka/lean-fetcher.js'
import { KafkaRequestError, NETWORK } from '../kafka/wire.js'
import {
  newCommitId,
  nextSeq,
  type PublishStep,
  publish,
  readCommitRecords,
  recover,
  type StagedFile,
  writeCheckpoint,
} from '../lake/commit.js'
import { dataFilePath, resumeOffsets } from '../lake/layout.js'
import {
  createParquetWriter,
  type ParquetCompression,
  type ParquetWriter,
  type WrittenFile,
} from '../lake/parquet.js'
import type { Lake } from '../lake/types.js'
import { RowBuffer } from './buffer.js'
import { MessageEncoder } from './encode.js'
import { caughtUp, OffsetTracker } from './offsets.js'
import { type FlushReason, flushReason } from './triggers.js'
import { perSecond } from './units.js'

const OFFSET_OUT_OF_RANGE = 1
/** Tables the flush writes from other tables' files (transactions = purchases + add_money). */
const DERIVED = derivedTables()

/**
 * The lake holds (or this stream has read) a partition's events past the topic's end: they are from
 * another incarnation of the topic.
 */
function lakeAheadOfKafka(
  topic: string,
  partition: number,
  offset: bigint,
  end: number,
  holder = 'the lake already holds',
): GameError {
  return new GameError(
    'LAKE_AHEAD_OF_KAFKA',
    `Partition ${partition} of ${topic} ends at offset ${end}, but ${holder} its events up to offset ${offset}: the topic was deleted and created again (or truncated) after the lake was written`,
    {
      exitCode: ExitCode.failure,
      hint: 'Stream the new topic into a new lake path (--lake), or move the old lake away first. Nothing of the new topic was skipped or written.',
    },
  )
}

const REBALANCE_STOP_WARNING =
  'Stopped during a consumer-group rebalance: the last buffered events were left for the next owner'
/** A failing fetch (broker down, no leader) is retried this often, and given up after this long. */
const FETCH_BACKOFF_MS = 250
const FETCH_GIVE_UP_MS = 30_000
/** How long a stream that lost Kafka waits for a flush or kafkajs's disconnect before it gives up. */
const STOP_GRACE_MS = 5_000

/** Resolves when p settles or after ms, whichever comes first (never rejects). */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  if (!Number.isFinite(ms))
    return p.then(
      () => undefined,
      () => undefined,
    )
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** kafkajs errors that mean the brokers are gone (not a refusal): the stream exits 4 for them. */
function lostConnection(error: unknown): boolean {
  type Chained = Error & { cause?: unknown; originalError?: unknown; code?: unknown }
  for (let e = error as Chained | undefined, depth = 0; e && depth < 8; depth++) {
    if (
      /KafkaJS(Connection|ConnectionClosed|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound|GroupCoordinatorNotFound)Error/.test(
        e.name ?? '',
      ) ||
      e.code === 'ECONNREFUSED' ||
      e.code === 'UNREACHABLE'
    )
      return true
    e = (e.originalError ?? e.cause) as Chained | undefined
  }
  return false
}

/** Fetch requests in flight at once (one loop each, over a share of the partitions). */
const FETCH_LOOPS = 3

/** Where a crash can be injected (tests): each step of publish(), and between publish and the Kafka offset commit. */
export type CrashPoint = PublishStep | 'before-offset-commit'
export const CRASH_POINTS: readonly CrashPoint[] = [
  'after-staging',
  'after-commit-record',
  'after-publish',
  'before-offset-commit',
]

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
  /** Uncommitted staging older than this is rolled back at start (default 10 minutes). */
  stagingGraceMs?: number
  /** DuckDB memory_limit (default 128MB). */
  memoryLimit?: string
  /** Consumer-group session timeout: how long a killed member holds its partitions (default 30 s, kafkajs's). */
  sessionTimeoutMs?: number
  /**
   * Kafka bootstrap servers: the lean fetcher reads the records from them (deps.kafka, the kafkajs
   * client, keeps the consumer-group membership and commits offsets).
   */
  brokers: string[]
  /** Write a lake checkpoint after every this many flushes of this process (default 50; 0: never). */
  checkpointEvery?: number
  /** Test hook: call deps.crash at this point of the first flush that has files. */
  crashAt?: CrashPoint
}

export const STREAM_DEFAULTS = {
  group: 'game-stream',
  intervalMs: 30_000,
  maxRows: 250_000,
  maxBytes: 32 * 1024 * 1024,
  stagingGraceMs: 10 * 60_000,
} as const

export interface FlushInfo {
  commitId: string
  at: string
  reason: FlushReason
  rows: number
  files: number
  bytes: number
  durationMs: number
  /** Of durationMs: writing Parquet locally, and publishing (upload, commit record, renames). */
  writeMs: number
  publishMs: number
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
}

export interface Clock {
  now(): number
}

export interface StreamDeps {
  kafka: Kafka
  lake: Lake
  clock?: Clock
  onProgress?: (progress: StreamProgress) => void
  /** Called at options.crashAt; the command layer kills the process there. */
  crash?: (point: CrashPoint) => void
}

/** Kafka did not answer: exit 4 with what to do. */
export function kafkaUnreachable(brokers: readonly string[] | undefined, cause: unknown): GameError {
  return unreachableError(
    'Kafka',
    (brokers ?? []).join(',') || 'the configured brokers',
    'Start the stack with `game up`, or set --brokers / GAME_BROKERS.',
    cause,
  )
}

/**
 * Retriable fetch failures for longer than the give-up time: "unreachable" only when no broker
 * answered (connection refused, lost or silent); a broker that answered with an error code is named
 * with the API, version and Kafka's error instead.
 */
function fetchGaveUp(
  brokers: readonly string[] | undefined,
  topic: string,
  failure: Error | undefined,
): GameError {
  if (!(failure instanceof KafkaRequestError) || failure.errorCode === NETWORK)
    return kafkaUnreachable(brokers, failure)
  return new GameError('FETCH_FAILED', `Kafka kept refusing to serve ${topic}: ${failure.message}`, {
    exitCode: ExitCode.failure,
    hint: 'Check the topic and its partition leaders with `game status` (and --brokers).',
    cause: failure,
  })
}

function emptyCounts(): Record<TableName, number> {
  return Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>
}

/**
 * The streaming job: consume the topic in a consumer group, route every message to its lake
 * tables, buffer, and flush micro-batches through the lake commit protocol (exactly once).
 * Resumes each partition after the offsets the lake's commit records cover.
 */
export async function streamToLake(
  options: StreamOptions,
  deps: StreamDeps,
  signal?: AbortSignal,
): Promise<StreamResult> {
  const clock = deps.clock ?? { now: () => Date.now() }
  const { lake, kafka } = deps
  const { topic, group } = options
  const started = clock.now()
  const warnings: string[] = []

  const recovered = await recover(lake, { staleMs: options.stagingGraceMs ?? STREAM_DEFAULTS.stagingGraceMs })
  let seq = nextSeq(recovered.records)
  // Records no checkpoint covers yet count too: short runs (--once) still checkpoint every K.
  let sinceCheckpoint = recovered.records.filter((r) => r.merged === undefined).length
  const tracker = new OffsetTracker()
  for (const [p, o] of resumeOffsets(recovered.records, topic)) tracker.setCommitted(p, o)

  const admin = kafka.admin()
  try {
    await admin.connect()
  } catch (error) {
    await admin.disconnect().catch(() => undefined)
    throw kafkaUnreachable(options.brokers, error)
  }
  let low = new Map<number, bigint>()
  const targets = new Map<number, bigint>()
  try {
    const topics = await admin.listTopics()
    if (!topics.includes(topic)) {
      throw new GameError('TOPIC_NOT_FOUND', `Topic "${topic}" does not exist`, {
        exitCode: ExitCode.failure,
        hint: 'Start the stack with `game up` (it creates the topic), or pass --topic.',
      })
    }
    const offsets = await admin.fetchTopicOffsets(topic)
    low = new Map(offsets.map((o) => [o.partition, BigInt(o.low)]))
    for (const o of offsets) {
      targets.set(o.partition, BigInt(o.high))
      tracker.setHighWatermark(o.partition, BigInt(o.high))
    }
  } finally {
    await admin.disconnect()
  }

  const tempDir = options.tempDir ?? os.tmpdir()
  // Scratch left by a stream that was killed (kill -9, a second Ctrl-C) goes first.
  await removeStaleScratch(tempDir)
  const scratch = await mkdtemp(path.join(tempDir, SCRATCH_PREFIX))
  await writeFile(path.join(scratch, 'pid'), String(process.pid))
  let writerReady: Promise<ParquetWriter> | undefined
  let consumer: Consumer | undefined
  let closeFetcher: (() => void) | undefined
  let ticker: NodeJS.Timeout | undefined
  try {
    // DuckDB starts (native library, instance) while the consumer joins; the first flush waits for it.
    const parquet = createParquetWriter({
      compression: options.compression,
      memoryLimit: options.memoryLimit,
    })
    writerReady = parquet
    parquet.catch(() => undefined)
    const buffer = new RowBuffer(path.join(scratch, 'buffer'))
    const encoder = new MessageEncoder()
    const published = emptyCounts()
    const commits: string[] = []
    let events = 0
    let rejected = 0
    let undecodable = 0
    let lastUndecodable: string | undefined
    let flushes = 0
    let lastFlushAt = clock.now()
    let lastFlush: FlushInfo | undefined
    let crashArmed = options.crashAt !== undefined
    let assigned = new Set<number>()
    let joined = false
    let ready: Promise<void> = Promise.resolve()
    let stopping = false
    /** Between kafkajs noticing a rebalance and the new assignment: no flush may start (it could publish a partition that is moving). */
    let rebalancing = false
    /**
     * Partitions whose first flush since assignment must check the lake again: what the lake said
     * at assignment, so rows another writer published meanwhile (a flush of the previous owner
     * still running when the group rebalanced) are left out instead of written twice.
     */
    const unverified = new Map<number, bigint | undefined>()
    let fatal: unknown
    /** kafkajs reported a lost connection at some point: a later kafkajs failure means Kafka is gone. */
    let lostKafka = false
    let inFlight: Promise<void> | undefined
    /** A flush is writing its Parquet files (DuckDB busy); false once it publishes. */
    let writing = false
    /** Resolves when the flush that is writing is done writing. */
    let written: Promise<void> = Promise.resolve()
    let markWritten = () => {}
    const setWriting = (on: boolean) => {
      if (on && !writing) written = new Promise((resolve) => (markWritten = resolve))
      if (!on && writing) markWritten()
      writing = on
    }
    let finish!: (by: StreamResult['stoppedBy']) => void
    const finished = new Promise<StreamResult['stoppedBy']>((resolve) => {
      finish = resolve
    })

    const crashHook = (point: CrashPoint) => {
      if (crashArmed && options.crashAt === point) {
        crashArmed = false
        deps.crash?.(point)
      }
    }

    // The consumer group (join, sync, heartbeats, offset commits) is kafkajs's; its partitions stay
    // paused, and the records come through the lean fetcher (no object per record).
    const c = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      retry: { retries: 5 },
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.max(100, Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3))),
      // With every partition paused, kafkajs sleeps this long between heartbeat checks, and
      // disconnect() waits for that sleep to end: short, so stopping is quick (20 cheap wakeups/s).
      maxWaitTimeInMs: 50,
    })
    consumer = c
    const fetcher = createLeanFetcher({ brokers: options.brokers, topic, clientId: `${group}-fetch` })
    closeFetcher = () => fetcher.close()
    /** Next fetch offset per assigned partition, set once the lake (or the group) said where to start. */
    const positions = new Map<number, number>()
    /** Bumped at every rebalance: the fetch loop of an older assignment stops at its next await. */
    let epoch = 0

    /** Offsets other writers published, since assignment, for partitions not yet checked. */
    const lateCommits = async (): Promise<Map<number, bigint>> => {
      const skip = new Map<number, bigint>()
      if (unverified.size === 0) return skip
      const checking = [...unverified]
      const fresh = resumeOffsets(await readCommitRecords(lake), topic)
      for (const [p, atJoin] of checking) {
        const now = fresh.get(p)
        if (now !== undefined && (atJoin === undefined || now > atJoin)) {
          skip.set(p, now)
          tracker.setCommitted(p, now)
          warnings.push(`Partition ${p}: rows below offset ${now} were published by another writer; left out`)
        }
        if (unverified.get(p) === atJoin) unverified.delete(p)
      }
      return skip
    }

    /**
     * One flush: cut, write the Parquet files locally, publish, commit. `after` (the previous flush,
     * still publishing) overlaps this one's writing; this one publishes only once it is done, and
     * not at all if it failed or a rebalance began.
     */
    const doFlush = async (reason: FlushReason, after?: Promise<void>): Promise<void> => {
      // The cut point: the generation of rows and the offsets they cover, taken together, synchronously.
      const gen = buffer.cut()
      const offsets = tracker.pending()
      lastFlushAt = clock.now()
      if (gen.rows === 0 && Object.keys(offsets).length === 0) {
        await buffer.discard(gen)
        return
      }
      const t0 = clock.now()
      const commitId = newCommitId(t0)
      const dir = path.join(scratch, commitId)
      // Writing from the cut on (no await in between): a stop sees it and waits for the writes.
      setWriting(true)
      try {
        await mkdir(dir, { recursive: true })
        const w = await parquet
        const batches = await buffer.finish(gen)
        const skip = await lateCommits()
        const files: StagedFile[] = []
        const perTable = new Map<TableName, number>()
        const stage = (table: TableName, dt: string, localPath: string, written: WrittenFile) => {
          if (written.rows === 0) return
          const n = perTable.get(table) ?? 0
          perTable.set(table, n + 1)
          files.push({ table, path: dataFilePath(table, dt, commitId, n), localPath, ...written })
        }
        const sourceFiles: { table: TableName; dt: string; localPath: string; written: WrittenFile }[] = []
        for (const [i, b] of batches.entries()) {
          const localPath = path.join(dir, `${b.table}-${b.dt}-${i}.parquet`)
          const written = await w.writeFiles(b.table, { json: b.files, csv: b.csvFiles }, localPath, skip)
          stage(b.table, b.dt, localPath, written)
          sourceFiles.push({ table: b.table, dt: b.dt, localPath, written })
        }
        // Derived tables (transactions = purchases + add_money): their sources' Parquet files, as
        // they are. The columns are the same (catalog derivedTables), so each source file is also a
        // file of the derived table, byte for byte: the rows are routed and encoded once.
        for (const [table, sources] of DERIVED) {
          for (const f of sourceFiles)
            if (sources.includes(f.table)) stage(table, f.dt, f.localPath, f.written)
        }
        setWriting(false)
        const tWritten = clock.now()
        if (after) {
          await after
          if (fatal || rebalancing) {
            if (rebalancing) warnings.push(REBALANCE_STOP_WARNING)
            return
          }
          // Offsets snapped while it was publishing: the ones it published are not news.
          for (const [p, o] of Object.entries(offsets)) {
            const done = tracker.committedOffset(Number(p))
            if (done !== undefined && done >= BigInt(o)) delete offsets[p]
          }
          if (files.length === 0 && Object.keys(offsets).length === 0) return
        }
        const tPublish = clock.now()
        const thisSeq = seq++
        const arm = files.length > 0
        await publish(
          lake,
          { commitId, seq: thisSeq, topic, group, offsets, files },
          { onStep: (step) => (arm ? crashHook(step) : undefined) },
        )
        tracker.markCommitted(offsets)
        for (const f of files) published[f.table] += f.rows
        commits.push(commitId)
        flushes += 1
        lastFlush = {
          commitId,
          at: new Date(clock.now()).toISOString(),
          reason,
          rows: files.reduce((s, f) => s + f.rows, 0),
          files: files.length,
          bytes: files.reduce((s, f) => s + f.bytes, 0),
          durationMs: clock.now() - t0,
          writeMs: tWritten - t0,
          publishMs: clock.now() - tPublish,
        }
        if (arm) crashHook('before-offset-commit')
        try {
          await c.commitOffsets(
            Object.entries(offsets).map(([partition, offset]) => ({
              topic,
              partition: Number(partition),
              offset,
            })),
          )
        } catch (error) {
          // The lake is the source of truth; a restart resumes from the commit record anyway.
          warnings.push(`Kafka offset commit failed (the lake has the offsets): ${(error as Error).message}`)
        }
        const every = options.checkpointEvery ?? 50
        if (every > 0 && ++sinceCheckpoint >= every) {
          sinceCheckpoint = 0
          // Bounds what every reader reads; if it fails, readers only read more commit records.
          await writeCheckpoint(lake).catch((error) =>
            warnings.push(`Lake checkpoint not written: ${(error as Error).message}`),
          )
        }
      } finally {
        setWriting(false)
        await rm(dir, { recursive: true, force: true })
        await buffer.discard(gen)
      }
    }

    /**
     * Starts a flush after any in-flight one (or, with `overlap`, while it publishes: see doFlush); a
     * failed flush stops the stream (its rows are not in the lake).
     */
    const flush = (reason: FlushReason, overlap = false): Promise<void> => {
      const prev = inFlight ?? Promise.resolve()
      const run = overlap
        ? doFlush(reason, prev)
        : prev.then(() => (fatal || rebalancing ? undefined : doFlush(reason)))
      const tracked = run.catch((error) => {
        fatal ??= error
        finish('signal')
      })
      inFlight = tracked
      void tracked.finally(() => {
        if (inFlight === tracked) inFlight = undefined
      })
      return tracked
    }

    const limits = { intervalMs: options.intervalMs, maxRows: options.maxRows, maxBytes: options.maxBytes }
    const dueReason = (): FlushReason | undefined =>
      flushReason(
        {
          rows: buffer.rows,
          bytes: buffer.bytes,
          pendingOffsets: Object.keys(tracker.pending()).length > 0,
          lastFlushAt,
        },
        limits,
        clock.now(),
      )

    /** Where each assigned partition started (lake, group or topic offset), for the caught-up check. */
    const startedAt = new Map<number, bigint>()
    const startOffset = (p: number): bigint =>
      startedAt.get(p) ?? (options.fromBeginning ? (low.get(p) ?? 0n) : (targets.get(p) ?? 0n))
    const isCaughtUp = () =>
      joined && caughtUp([...assigned], targets, (p) => tracker.nextOffset(p), startOffset)

    /** Where partitions without a lake offset start: the group's committed offset, else the topic's start or end. */
    const groupStart = async (parts: number[]): Promise<Map<number, number>> => {
      const out = new Map<number, number>()
      const admin = kafka.admin()
      try {
        await admin.connect()
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
        for (const { partition, offset } of committed?.partitions ?? []) {
          if (parts.includes(partition) && Number(offset) >= 0) out.set(partition, Number(offset))
        }
      } finally {
        await admin.disconnect().catch(() => undefined)
      }
      const rest = parts.filter((p) => !out.has(p))
      if (rest.length > 0) {
        const ends = await fetcher.listOffsets(rest, options.fromBeginning ? 'earliest' : 'latest')
        for (const [p, o] of ends) out.set(p, o)
      }
      return out
    }

    c.on(c.events.REBALANCING, () => {
      rebalancing = true
      epoch++
    })
    c.on(c.events.GROUP_JOIN, (e) => {
      const parts = e.payload.memberAssignment[topic] ?? []
      const next = new Set(parts)
      for (const p of assigned) {
        if (!next.has(p)) {
          buffer.dropPartition(p)
          tracker.reset(p)
        }
      }
      assigned = next
      rebalancing = false
      const myEpoch = ++epoch
      positions.clear()
      if (parts.length > 0) c.pause([{ topic, partitions: parts }])
      const previous = ready
      ready = (async () => {
        await previous
        const records = await readCommitRecords(lake)
        const resume = resumeOffsets(records, topic)
        // A lake ahead of the topic's end holds another incarnation's events (the topic was deleted
        // and created again, or truncated): resuming there would skip the new events below it.
        const withLake = parts.filter((p) => resume.has(p))
        if (withLake.length > 0) {
          const ends = await fetcher.listOffsets(withLake, 'latest')
          for (const p of withLake) {
            const end = ends.get(p)
            if (end !== undefined && (resume.get(p) as bigint) > BigInt(end)) {
              throw lakeAheadOfKafka(topic, p, resume.get(p) as bigint, end)
            }
          }
        }
        const unknown: number[] = []
        const start = new Map<number, number>()
        for (const p of parts) {
          const fromLake = resume.get(p)
          if (fromLake !== undefined) tracker.setCommitted(p, fromLake)
          unverified.set(p, fromLake)
          const at = tracker.nextOffset(p) ?? (options.fromBeginning ? low.get(p) : undefined)
          if (at !== undefined) start.set(p, Number(at))
          else unknown.push(p)
        }
        if (unknown.length > 0) for (const [p, o] of await groupStart(unknown)) start.set(p, o)
        if (epoch !== myEpoch) return
        for (const [p, o] of start) {
          positions.set(p, o)
          startedAt.set(p, BigInt(o))
        }
        joined = true
        if (positions.size > 0) {
          // Up to FETCH_LOOPS fetch loops, partitions dealt round robin: while one loop's records are
          // routed, the others' requests are on the wire.
          const parts = [...positions.keys()].sort((a, b) => a - b)
          const loops = Math.min(FETCH_LOOPS, parts.length)
          for (let i = 0; i < loops; i++) {
            void fetchLoop(
              myEpoch,
              parts.filter((_, j) => j % loops === i),
            ).catch((error) => {
              fatal ??= error
              finish('signal')
            })
          }
        }
      })().catch((error) => {
        fatal ??= error
        finish('signal')
      })
    })
    c.on(c.events.CRASH, (e) => {
      if (lostConnection(e.payload.error)) lostKafka = true
      if (!e.payload.restart) {
        fatal ??= e.payload.error
        finish('signal')
      }
    })

    const meta = { topic, partition: 0, offset: '', timestamp: 0 }
    /** Routes one partition's fetched records into the buffer (synchronous: no rebalance can interleave). */
    const take = (f: FetchedPartition) => {
      const p = f.partition
      if (!assigned.has(p) || f.records === null) return
      const accepted = tracker.nextOffset(p)
      const from = accepted === undefined ? f.fetchOffset : Math.max(f.fetchOffset, Number(accepted))
      meta.partition = p
      let last = -1
      forEachRecord(
        f.records,
        from,
        (offset, timestamp, buf, start, end) => {
          meta.offset = ''
          meta.timestamp = timestamp
          const encoded = encoder.encode(start < 0 ? null : buf, meta, offset, start, end)
          events += 1
          if (encoded.rejected) rejected += 1
          if (encoded.tables.length > 0)
            buffer.addLine(p, encoded.tables, encoded.dt, encoded.bytes ?? encoded.line, encoded.csv)
          last = offset
        },
        f.aborted,
        (first, lastOffset, reason, ms) => {
          // Land the rest, skip this batch once: a rejected row that carries its offsets.
          const encoded = encoder.undecodable(meta, first, lastOffset, reason, ms)
          undecodable += 1
          rejected += 1
          lastUndecodable = `${topic}/${p} offsets ${first}-${lastOffset}: ${reason}`
          buffer.addLine(p, encoded.tables, encoded.dt, encoded.line, false)
          last = lastOffset
        },
      )
      if (last >= 0) tracker.accept(p, BigInt(last))
      tracker.setHighWatermark(p, BigInt(f.highWatermark))
    }

    /** The spill of the previous fetch's rows. */
    let spilling: Promise<void> = Promise.resolve()
    /** Fetch, route, spill, flush when due, for some partitions of one assignment (epoch), until stopped or reassigned. */
    const fetchLoop = async (myEpoch: number, mine: number[]): Promise<void> => {
      const live = () => epoch === myEpoch && !stopping && !fatal
      const send = () => {
        const r = fetcher.fetch(new Map(mine.map((p) => [p, positions.get(p) ?? 0])))
        r.catch(() => undefined) // awaited below; a loop that stopped leaves it
        return r
      }
      let failingSince = 0
      let request = send()
      while (live()) {
        const parts = await request
        if (!live()) return
        let backoff = false
        for (const f of parts) {
          if (f.records !== null) {
            // Where the next fetch starts, from the batch headers only: it goes out before this one is routed.
            positions.set(f.partition, nextFetchOffset(f.records, f.fetchOffset))
          } else if (f.errorCode === OFFSET_OUT_OF_RANGE) {
            // Below the log start (retention deleted it): resume at the start, with a warning. Past
            // the end with events read or in the lake beyond it: the topic was recreated or
            // truncated under this stream; stop (see lakeAheadOfKafka). Past the end otherwise (only
            // the group's offset said so): resume at the end, as Kafka's auto.offset.reset=latest.
            const earliest = (await fetcher.listOffsets([f.partition], 'earliest')).get(f.partition) ?? 0
            let at = earliest
            if (f.fetchOffset >= earliest) {
              const end = (await fetcher.listOffsets([f.partition], 'latest')).get(f.partition) ?? earliest
              if (f.fetchOffset <= end) continue // back in range (the log moved meanwhile): fetch again
              const read = tracker.nextOffset(f.partition)
              if (read !== undefined && read > BigInt(end)) {
                throw lakeAheadOfKafka(
                  topic,
                  f.partition,
                  read,
                  end,
                  'the lake holds or this stream has read',
                )
              }
              at = end
            }
            if (!live()) return
            warnings.push(
              f.fetchOffset < earliest
                ? `Partition ${f.partition}: offset ${f.fetchOffset} is below Kafka's log start (deleted by retention); resumed at ${at}`
                : `Partition ${f.partition}: the group's offset ${f.fetchOffset} is past Kafka's end; resumed at the end, ${at}`,
            )
            positions.set(f.partition, at)
          } else if (f.error instanceof KafkaRequestError && f.error.retriable) {
            backoff = true
          } else {
            throw new GameError(
              'FETCH_FAILED',
              `Kafka refused to serve ${topic}-${f.partition} at offset ${f.fetchOffset}: ${f.error?.message ?? `error ${f.errorCode}`}`,
              {
                exitCode: ExitCode.failure,
                hint: 'Check that the topic exists and that this client may read it (`game stream status`, --brokers).',
                cause: f.error,
              },
            )
          }
        }
        if (backoff) {
          const failure = parts.find((f) => f.records === null)?.error
          failingSince ||= clock.now()
          if (clock.now() - failingSince > FETCH_GIVE_UP_MS)
            throw fetchGaveUp(options.brokers, topic, failure)
          await new Promise((r) => setTimeout(r, FETCH_BACKOFF_MS))
          if (!live()) return
        } else failingSince = 0
        request = send()
        for (const f of parts) take(f)
        // Rows leave memory after each fetch (appended to the generation's local files). This
        // fetch's write overlaps the next fetch's routing: memory holds at most two fetches' rows.
        const spilled = buffer.spill()
        spilled.catch(() => undefined) // awaited (and thrown) after the next fetch, and by the flush
        const previous = spilling
        spilling = spilled
        await previous
        const reason = dueReason()
        if (reason && reason !== 'interval') {
          // Rows wait on local disk, not in the heap, so consuming goes on while a flush runs; the
          // next flush starts when it ends (the ticker). Backpressure only past 2x the limits.
          if (!inFlight) void flush(reason)
          else if (buffer.rows >= 2 * options.maxRows || buffer.bytes >= 2 * options.maxBytes) await inFlight
        }
        if (options.once && isCaughtUp()) finish('caught-up')
      }
    }

    try {
      await c.connect()
    } catch (error) {
      throw kafkaUnreachable(options.brokers, error)
    }
    await c.subscribe({ topic, fromBeginning: options.fromBeginning })
    await c.run({ autoCommit: false, eachBatch: async () => undefined })
    // kafkajs only keeps the group: no partition of the topic is ever fetched by it.
    c.pause([{ topic }])

    let lastReport = 0
    const snapshot = (phase: StreamProgress['phase']): StreamProgress => ({
      phase,
      events,
      eventsPerSec: perSecond(events, clock.now() - started),
      rejected,
      undecodable,
      lastUndecodable,
      rows: { ...published },
      buffered: buffer.rows,
      lag: tracker.lag(),
      assigned: [...assigned].sort((a, b) => a - b),
      flushes,
      lastFlush,
      warnings: [...warnings],
    })
    const tickMs = Math.max(10, Math.min(250, Math.floor(options.intervalMs / 4)))
    ticker = setInterval(() => {
      const now = clock.now()
      if (!stopping && !inFlight) {
        const reason = dueReason()
        if (reason) void flush(reason)
      }
      if (options.once && isCaughtUp()) finish('caught-up')
      if (now - lastReport >= 1000) {
        lastReport = now
        deps.onProgress?.(snapshot('consuming'))
      }
    }, tickMs)

    const onAbort = () => finish('signal')
    if (signal?.aborted) finish('signal')
    signal?.addEventListener('abort', onAbort, { once: true })
    const stoppedBy = await finished
    signal?.removeEventListener('abort', onAbort)
    stopping = true
    clearInterval(ticker)
    ticker = undefined
    deps.onProgress?.(snapshot('stopping'))
    try {
      c.pause([{ topic }])
    } catch {
      // kafkajs crashed (e.g. Kafka went away) and dropped its group: nothing left to pause.
    }
    // The final flush writes while the in-flight one publishes (once that one is done writing):
    // DuckDB and the upload work at once, and the final flush still publishes after it. Not while a
    // partition's lake offsets are unverified (the final flush would read the lake mid-publish).
    if (inFlight && writing) await written
    const overlap = inFlight !== undefined && unverified.size === 0 && !rebalancing && !fatal
    // After a fatal error (Kafka gone) waiting is bounded: an interrupted publish is completed or
    // rolled back by the next run's recovery, so exiting beats hanging on kafkajs retries.
    if (inFlight && !overlap) await (fatal ? bounded(inFlight, STOP_GRACE_MS) : inFlight)
    if (rebalancing) {
      // What this process still owns is unknown mid-rebalance: publish nothing; the partitions'
      // next owners read these events again from the lake's offsets.
      warnings.push(REBALANCE_STOP_WARNING)
    } else if (!fatal) await flush('final', overlap)
    await bounded(
      c.disconnect().catch(() => undefined),
      fatal ? STOP_GRACE_MS : Number.POSITIVE_INFINITY,
    )
    consumer = undefined
    if (fatal)
      throw fatal instanceof GameError || !(lostKafka || lostConnection(fatal))
        ? fatal
        : kafkaUnreachable(options.brokers, fatal)
    deps.onProgress?.(snapshot('done'))
    return {
      topic,
      group,
      events,
      rows: published,
      rejected,
      undecodable,
      lastUndecodable,
      flushes,
      offsets: tracker.committedOffsets(),
      durationMs: clock.now() - started,
      commits,
      recovered: { rolledForward: recovered.rolledForward, rolledBack: recovered.rolledBack },
      stoppedBy,
      warnings,
    }
  } finally {
    if (ticker) clearInterval(ticker)
    if (consumer)
      await bounded(
        consumer.disconnect().catch(() => undefined),
        STOP_GRACE_MS,
      )
    closeFetcher?.()
    await writerReady?.then(
      (w) => w.close(),
      () => undefined,
    )
    await rm(scratch, { recursive: true, force: true })
  }
}

const SCRATCH_PREFIX = 'game-stream-'

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes `game-stream-*` scratch directories under `tempDir` whose stream is gone (the pid it
 * wrote there no longer runs). Directories without a pid file (older versions) are left alone.
 * Returns the paths removed.
 */
export async function removeStaleScratch(
  tempDir: string,
  isAlive: (pid: number) => boolean = pidAlive,
): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = (await readdir(tempDir)).filter((n) => n.startsWith(SCRATCH_PREFIX))
  } catch {
    return removed
  }
  for (const name of names) {
    const dir = path.join(tempDir, name)
    const pid = Number.parseInt(await readFile(path.join(dir, 'pid'), 'utf8').catch(() => ''), 10)
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    removed.push(dir)
  }
  return removed
}
