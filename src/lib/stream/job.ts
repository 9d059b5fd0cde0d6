import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_STREAM } from '../config.js'
import { GameError } from '../errors.js'
import { type FetchedPartition, forEachRecord, type LeanFetcher } from '../kafka/lean-fetcher.js'
import { cleanClaims } from '../lake/claims.js'
import { nextSeq, readCommitRecords, recover } from '../lake/commit.js'
import { Compactor } from '../lake/compactor.js'
import { type CommitRecord, resumeOffsets, topicIncarnation } from '../lake/layout.js'
import type { ParquetWriter } from '../lake/parquet.js'
import { RowBuffer } from './buffer.js'
import { MessageEncoder } from './encode.js'
import { runFetchLoop } from './fetch-loop.js'
import { type CrashPoint, Flusher, REBALANCE_STOP_WARNING } from './flusher.js'
import { type GroupMembership, kafkaUnreachable } from './membership.js'
import { caughtUp, OffsetTracker } from './offsets.js'
import { planAssignment } from './planner.js'
import { removeStaleScratch, SCRATCH_PREFIX } from './scratch.js'
import type { StreamDeps, StreamOptions, StreamProgress, StreamResult } from './stream.js'
import { perSecond } from './units.js'
import { UnknownFieldCounter } from './unknown-fields.js'

/** Fetch requests in flight at once (one loop each, over a share of the partitions). */
const FETCH_LOOPS = 3
/** A join that takes longer than this is explained in the progress (what it waits for, how long). */
export const JOIN_NOTICE_MS = 3_000

/** Why joining the group can take long (said, not guessed: a live worker and a dead member look the same from here). */
export function joinWaitingText(group: string, waitedMs: number, sessionTimeoutMs: number): string {
  const waited = Math.floor(waitedMs / 5_000) * 5
  return `joining group ${group}: waiting ${waited >= 5 ? `${waited}+` : 'a few'} s for the group to rebalance. A member that stopped without leaving (kill -9, a forced stop) holds its partitions until its session timeout (${Math.round(sessionTimeoutMs / 1000)} s if it used this one); live members must rejoin first`
}

/** How long a stream that lost Kafka waits for a flush or kafkajs's disconnect before it gives up. */
const STOP_GRACE_MS = 5_000

/** Resolves when p settles or after ms, whichever comes first (never rejects). */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  const settled = p.then(
    () => undefined,
    () => undefined,
  )
  if (!Number.isFinite(ms)) return settled
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    settled,
    new Promise<void>((r) => {
      timer = setTimeout(r, ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** kafkajs errors that mean the brokers are gone (not a refusal): the stream exits 4 for them. */
export function lostConnection(error: unknown): boolean {
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

/** What the job is built from: everything that talks to Kafka or writes Parquet comes in here. */
export interface JobDeps extends Omit<StreamDeps, 'kafka'> {
  fetcher: LeanFetcher
  membership: GroupMembership
  /** Starts the Parquet writer (called once, while the group is joined). */
  parquet: () => Promise<ParquetWriter>
  /** For error messages: where Kafka was looked for. */
  brokers?: readonly string[]
}

/**
 * The streaming job: consume the topic in a consumer group, route every message to its lake
 * tables, buffer, and flush micro-batches through the lake commit protocol (exactly once).
 * Resumes each partition after the offsets the lake's commit records cover. Its parts:
 *   - membership (membership.ts): the consumer group, through deps;
 *   - the assignment planner (planner.ts): where each assigned partition starts;
 *   - fetch loops (fetch-loop.ts): fetch, route into the buffer, spill, trigger flushes;
 *   - the flusher (flusher.ts): the flush protocol, claims and the order of commits.
 * The job itself wires them: assignment changes, the ticker, progress, and stopping.
 */
export class StreamJob {
  private readonly clock: { now(): number }
  private readonly warnings: string[] = []
  private readonly unknownFields: UnknownFieldCounter
  private readonly tracker = new OffsetTracker()
  private readonly encoder = new MessageEncoder()
  private events = 0
  private rejected = 0
  private undecodable = 0
  private lastUndecodable: string | undefined
  private assigned = new Set<number>()
  private joined = false
  private ready: Promise<void> = Promise.resolve()
  private stopping = false
  /** Between a rebalance beginning and the new assignment: no flush may start. */
  private rebalancing = false
  private fatal: unknown
  /** kafkajs reported a lost connection at some point: a later kafkajs failure means Kafka is gone. */
  private lostKafka = false
  /** Bumped at every rebalance: the fetch loops of an older assignment stop at their next await. */
  private epoch = 0
  /** Next fetch offset per assigned partition, set once the planner said where to start. */
  private readonly positions = new Map<number, number>()
  private readonly rewinds = new Map<number, number>()
  /** Where each assigned partition started (lake, group or topic offset), for the caught-up check. */
  private readonly startedAt = new Map<number, bigint>()
  private low = new Map<number, bigint>()
  private readonly targets = new Map<number, bigint>()
  private crashArmed: boolean
  private topicId: string | undefined
  private finish: (by: StreamResult['stoppedBy']) => void = () => {}
  private buffer!: RowBuffer
  private flusher!: Flusher
  /** The spill of the previous fetch's rows. */
  private spilling: Promise<void> = Promise.resolve()

  constructor(
    private readonly options: StreamOptions,
    private readonly deps: JobDeps,
  ) {
    this.clock = deps.clock ?? { now: () => Date.now() }
    this.crashArmed = options.crashAt !== undefined
    this.unknownFields = new UnknownFieldCounter(options.topic, options.group)
  }

  private fail(error: unknown): void {
    this.fatal ??= error
    this.finish('signal')
  }

  private crashHook(point: CrashPoint): void {
    if (this.crashArmed && this.options.crashAt === point) {
      this.crashArmed = false
      this.deps.crash?.(point)
    }
  }

  /** Runs until caught up (--once), stopped (signal) or failed; closes the fetcher and leaves the group. */
  async run(signal?: AbortSignal): Promise<StreamResult> {
    const { options, deps, clock } = this
    const { fetcher } = deps
    const started = clock.now()
    const stagingGraceMs = options.stagingGraceMs ?? DEFAULT_STREAM.stagingGraceMs

    try {
      return await this.runOwned(signal, started, stagingGraceMs)
    } finally {
      fetcher.close()
    }
  }

  private async runOwned(
    signal: AbortSignal | undefined,
    started: number,
    stagingGraceMs: number,
  ): Promise<StreamResult> {
    const { options, deps, clock, tracker, warnings } = this
    const { lake, membership } = deps
    const { topic, group } = options
    const recovered = await recover(lake, { staleMs: stagingGraceMs })
    for (const o of await membership.topicOffsets()) {
      this.low.set(o.partition, o.low)
      this.targets.set(o.partition, o.high)
      tracker.setHighWatermark(o.partition, o.high)
    }
    // The topic's id: commit records of another id are a deleted topic's (layout.ts, topic incarnations).
    this.topicId = await deps.fetcher.topicId().catch(() => undefined)
    const lakeAtStart = this.lakeOffsets(recovered.records)
    for (const [p, o] of lakeAtStart) tracker.setCommitted(p, o)
    // Spent partition claims of earlier runs (layout.ts): one listing per partition.
    await cleanClaims(lake, topic, lakeAtStart, stagingGraceMs, clock.now(), this.topicId).catch((error) =>
      warnings.push(`Old partition claims not cleaned up: ${(error as Error).message}`),
    )

    const tempDir = options.tempDir ?? os.tmpdir()
    // Scratch left by a stream that was killed (kill -9, a second Ctrl-C) goes first.
    await removeStaleScratch(tempDir)
    const scratch = await mkdtemp(path.join(tempDir, SCRATCH_PREFIX))
    await writeFile(path.join(scratch, 'pid'), String(process.pid))
    let writerReady: Promise<ParquetWriter> | undefined
    let joinedGroup = false
    const compactor =
      options.upkeep &&
      new Compactor(lake, { tempDir: options.tempDir, onWarning: (w) => warnings.push(w), ...options.upkeep })
    let ticker: NodeJS.Timeout | undefined
    try {
      // DuckDB starts (native library, instance) while the consumer joins; the first flush waits for it.
      const parquet = deps.parquet()
      writerReady = parquet
      parquet.catch(() => undefined)
      this.buffer = new RowBuffer(path.join(scratch, 'buffer'))
      this.flusher = new Flusher({
        topic,
        topicId: this.topicId,
        lakeOffsets: (records) => this.lakeOffsets(records),
        group,
        lake,
        now: () => clock.now(),
        scratch,
        buffer: this.buffer,
        tracker,
        parquet,
        commitOffsets: (offsets) => membership.commitOffsets(offsets),
        limits: { intervalMs: options.intervalMs, maxRows: options.maxRows, maxBytes: options.maxBytes },
        seq: nextSeq(recovered.records),
        checkpointEvery: options.checkpointEvery ?? DEFAULT_STREAM.checkpointEvery,
        // Records no checkpoint covers yet count too: short runs (--once) still checkpoint every K.
        sinceCheckpoint: recovered.records.filter((r) => r.merged === undefined).length,
        claimLeaseMs: options.claimLeaseMs ?? DEFAULT_STREAM.claimLeaseMs,
        stagingGraceMs,
        rebalancing: () => this.rebalancing,
        failed: () => this.fatal !== undefined,
        onFailure: (error) => this.fail(error),
        warn: (message) => warnings.push(message),
        crashHook: (point) => this.crashHook(point),
        rewind: (parts) => this.rewind(parts),
        afterCommit: async () => {
          await this.unknownFields.save(lake).catch((e) => {
            warnings.push(`could not record the unknown fields seen: ${(e as Error).message}`)
          })
        },
        afterFlush: () => compactor?.maybeCompact(),
      })
      const flusher = this.flusher
      const finished = new Promise<StreamResult['stoppedBy']>((resolve) => {
        this.finish = resolve
      })

      const joinStarted = clock.now()
      let lastReport = 0
      const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_STREAM.sessionTimeoutMs
      const snapshot = (phase: StreamProgress['phase']): StreamProgress => ({
        phase,
        ...(phase === 'starting' && clock.now() - joinStarted >= JOIN_NOTICE_MS
          ? { waiting: joinWaitingText(group, clock.now() - joinStarted, sessionTimeoutMs) }
          : {}),
        events: this.events,
        eventsPerSec: perSecond(this.events, clock.now() - started),
        rejected: this.rejected,
        undecodable: this.undecodable,
        lastUndecodable: this.lastUndecodable,
        rows: { ...flusher.published },
        buffered: this.buffer.rows,
        lag: tracker.lag(),
        assigned: [...this.assigned].sort((a, b) => a - b),
        flushes: flusher.flushes,
        lastFlush: flusher.lastFlush,
        warnings: [...warnings],
      })
      joinedGroup = true
      // kafkajs's join returns once the group is joined: while it waits (a member that stopped
      // without leaving is held until its session timeout), say so once a second.
      const waiting = setInterval(() => {
        if (!this.joined && clock.now() - joinStarted >= JOIN_NOTICE_MS)
          deps.onProgress?.(snapshot('starting'))
      }, 1000)
      try {
        await membership.join({
          onRevoking: () => {
            this.rebalancing = true
            this.epoch++
          },
          onAssigned: (parts) => this.assign(parts),
          onCrash: (error, restart) => {
            if (lostConnection(error)) this.lostKafka = true
            if (!restart) this.fail(error)
          },
        })
      } finally {
        clearInterval(waiting)
      }

      const tickMs = Math.max(10, Math.min(250, Math.floor(options.intervalMs / 4)))
      ticker = setInterval(() => {
        const now = clock.now()
        if (!this.stopping && !flusher.inFlight) {
          const reason = flusher.dueReason()
          if (reason) void flusher.flush(reason)
        }
        if (options.once && this.isCaughtUp()) this.finish('caught-up')
        if (now - lastReport >= 1000) {
          lastReport = now
          deps.onProgress?.(snapshot(this.joined ? 'consuming' : 'starting'))
        }
      }, tickMs)

      const onAbort = () => this.finish('signal')
      if (signal?.aborted) this.finish('signal')
      signal?.addEventListener('abort', onAbort, { once: true })
      const stoppedBy = await finished
      signal?.removeEventListener('abort', onAbort)
      this.stopping = true
      clearInterval(ticker)
      ticker = undefined
      deps.onProgress?.(snapshot('stopping'))
      membership.pauseAll()
      // The final flush writes while the in-flight one publishes (once that one is done writing):
      // DuckDB and the upload work at once, and the final flush still publishes after it. Not while a
      // partition's lake offsets are unverified (the final flush would read the lake mid-publish).
      if (flusher.inFlight && flusher.writing) await flusher.written
      const overlap = flusher.inFlight !== undefined && !flusher.verifying && !this.rebalancing && !this.fatal
      // After a fatal error (Kafka gone) waiting is bounded: an interrupted publish is completed or
      // rolled back by the next run's recovery, so exiting beats hanging on kafkajs retries.
      if (flusher.inFlight && !overlap)
        await (this.fatal ? bounded(flusher.inFlight, STOP_GRACE_MS) : flusher.inFlight)
      if (this.rebalancing) {
        // What this process still owns is unknown mid-rebalance: publish nothing; the partitions'
        // next owners read these events again from the lake's offsets.
        warnings.push(REBALANCE_STOP_WARNING)
      } else if (!this.fatal) await flusher.flush('final', overlap)
      joinedGroup = false
      await bounded(
        membership.leave().catch(() => undefined),
        this.fatal ? STOP_GRACE_MS : Number.POSITIVE_INFINITY,
      )
      if (this.fatal) {
        const fatal = this.fatal
        throw fatal instanceof GameError || !(this.lostKafka || lostConnection(fatal))
          ? fatal
          : kafkaUnreachable(deps.brokers ?? options.brokers, fatal)
      }
      deps.onProgress?.(snapshot('done'))
      return {
        topic,
        group,
        events: this.events,
        rows: flusher.published,
        rejected: this.rejected,
        undecodable: this.undecodable,
        lastUndecodable: this.lastUndecodable,
        flushes: flusher.flushes,
        offsets: tracker.committedOffsets(),
        durationMs: clock.now() - started,
        commits: flusher.commits,
        recovered: { rolledForward: recovered.rolledForward, rolledBack: recovered.rolledBack },
        stoppedBy,
        warnings,
        unknownFields: this.unknownFields.fields(),
      }
    } finally {
      await compactor?.close()
      if (ticker) clearInterval(ticker)
      if (joinedGroup)
        await bounded(
          membership.leave().catch(() => undefined),
          STOP_GRACE_MS,
        )
      await writerReady?.then(
        (w) => w.close(),
        () => undefined,
      )
      await rm(scratch, { recursive: true, force: true })
    }
  }

  /** Per partition, the lake's resume offset for this topic id. */
  private lakeOffsets(records: CommitRecord[]): Map<number, bigint> {
    const { topic } = this.options
    return resumeOffsets(topicIncarnation(records, topic, this.topicId).records, topic)
  }

  private isCaughtUp(): boolean {
    const startOffset = (p: number): bigint =>
      this.startedAt.get(p) ??
      (this.options.fromBeginning ? (this.low.get(p) ?? 0n) : (this.targets.get(p) ?? 0n))
    return (
      this.joined &&
      caughtUp([...this.assigned], this.targets, (p) => this.tracker.nextOffset(p), startOffset)
    )
  }

  /** A new assignment: drop what moved away, plan where the partitions start, start the fetch loops. */
  private assign(parts: number[]): void {
    const { tracker, buffer, options, deps, flusher } = this
    const { topic } = options
    const next = new Set(parts)
    for (const p of this.assigned) {
      if (!next.has(p)) {
        buffer.dropPartition(p)
        tracker.reset(p)
      }
    }
    this.assigned = next
    this.rebalancing = false
    const myEpoch = ++this.epoch
    this.positions.clear()
    const previous = this.ready
    this.ready = (async () => {
      await previous
      const records = await readCommitRecords(deps.lake)
      const incarnation = topicIncarnation(records, topic, this.topicId)
      const lake = resumeOffsets(incarnation.records, topic)
      const accepted = new Map<number, bigint>()
      for (const p of parts) {
        const n = tracker.nextOffset(p)
        if (n !== undefined) accepted.set(p, n)
      }
      const withLake = parts.filter((p) => lake.has(p))
      const latest = new Map<number, bigint>()
      if (withLake.length > 0)
        for (const [p, o] of await deps.fetcher.listOffsets(withLake, 'latest')) latest.set(p, BigInt(o))
      const input = {
        topic,
        partitions: parts,
        lake,
        accepted,
        earliest: this.low,
        latest,
        fromBeginning: options.fromBeginning,
        topicId: this.topicId,
        lakeTopicId: incarnation.lakeTopicId,
      }
      let plan = planAssignment(input)
      if (plan.needGroup.length > 0) {
        const group = await deps.membership.committedOffsets(plan.needGroup)
        const rest = plan.needGroup.filter((p) => !group.has(p))
        if (rest.length > 0) {
          const ends = await deps.fetcher.listOffsets(rest, options.fromBeginning ? 'earliest' : 'latest')
          for (const [p, o] of ends) latest.set(p, BigInt(o))
          if (options.fromBeginning) for (const [p, o] of ends) this.low.set(p, BigInt(o))
        }
        plan = planAssignment({ ...input, group })
      }
      for (const w of plan.warnings) this.warnings.push(w)
      for (const p of parts) {
        const fromLake = plan.committed.get(p)
        if (fromLake !== undefined) tracker.setCommitted(p, fromLake)
        flusher.verify(p, fromLake)
      }
      if (this.epoch !== myEpoch) return
      for (const [p, o] of plan.starts) {
        this.positions.set(p, Number(o))
        this.startedAt.set(p, o)
      }
      this.joined = true
      if (this.positions.size > 0) {
        // Up to FETCH_LOOPS fetch loops, partitions dealt round robin: while one loop's records are
        // routed, the others' requests are on the wire.
        const sorted = [...this.positions.keys()].sort((a, b) => a - b)
        const loops = Math.min(FETCH_LOOPS, sorted.length)
        for (let i = 0; i < loops; i++) {
          void this.fetchLoop(
            myEpoch,
            sorted.filter((_, j) => j % loops === i),
          ).catch((error) => this.fail(error))
        }
      }
    })().catch((error) => this.fail(error))
  }

  /** Partitions reset to the lake's offsets (a lost claim): fetch them again from there. */
  private rewind(parts: number[]): void {
    for (const p of parts) {
      this.buffer.dropPartition(p)
      if (!this.assigned.has(p) || !this.positions.has(p)) continue
      const at = this.tracker.committedOffset(p) ?? this.startedAt.get(p)
      if (at === undefined) continue
      this.positions.set(p, Number(at))
      this.rewinds.set(p, (this.rewinds.get(p) ?? 0) + 1)
    }
  }

  private fetchLoop(myEpoch: number, mine: number[]): Promise<void> {
    const { options, flusher, buffer } = this
    return runFetchLoop(
      {
        topic: options.topic,
        fetcher: this.deps.fetcher,
        now: () => this.clock.now(),
        brokers: this.deps.brokers ?? options.brokers,
        positions: this.positions,
        rewinds: this.rewinds,
        live: () => this.epoch === myEpoch && !this.stopping && !this.fatal,
        take: (f) => this.take(f),
        accepted: (p) => this.tracker.nextOffset(p),
        warn: (message) => this.warnings.push(message),
        afterFetch: async () => {
          // Rows leave memory after each fetch (appended to the generation's local files). This
          // fetch's write overlaps the next fetch's routing: memory holds at most two fetches' rows.
          const spilled = buffer.spill()
          spilled.catch(() => undefined) // awaited (and thrown) after the next fetch, and by the flush
          const previous = this.spilling
          this.spilling = spilled
          await previous
          const reason = flusher.dueReason()
          if (reason && reason !== 'interval') {
            // Rows wait on local disk, not in the heap, so consuming goes on while a flush runs; the
            // next flush starts when it ends (the ticker). Backpressure only past 2x the limits.
            if (!flusher.inFlight) void flusher.flush(reason)
            else if (buffer.rows >= 2 * options.maxRows || buffer.bytes >= 2 * options.maxBytes)
              await flusher.inFlight
          }
          if (options.once && this.isCaughtUp()) this.finish('caught-up')
        },
      },
      mine,
    )
  }

  private readonly meta = { topic: '', partition: 0, offset: '', timestamp: 0 }

  /** Routes one partition's fetched records into the buffer (synchronous: no rebalance can interleave). */
  private take(f: FetchedPartition): void {
    const p = f.partition
    if (!this.assigned.has(p) || f.records === null) return
    const { tracker, encoder, buffer, meta } = this
    meta.topic = this.options.topic
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
        this.events += 1
        if (encoded.rejected) this.rejected += 1
        if (encoded.unknownFields !== undefined) this.unknownFields.note(encoded.unknownFields)
        if (encoded.tables.length > 0)
          buffer.addLine(p, encoded.tables, encoded.dt, encoded.bytes ?? encoded.line, encoded.csv)
        last = offset
      },
      f.aborted,
      (first, lastOffset, reason, ms) => {
        // Land the rest, skip this batch once: a rejected row that carries its offsets.
        const encoded = encoder.undecodable(meta, first, lastOffset, reason, ms)
        this.undecodable += 1
        this.rejected += 1
        this.lastUndecodable = `${this.options.topic}/${p} offsets ${first}-${lastOffset}: ${reason}`
        buffer.addLine(p, encoded.tables, encoded.dt, encoded.line, false)
        last = lastOffset
      },
    )
    if (last >= 0) tracker.accept(p, BigInt(last))
    tracker.setHighWatermark(p, BigInt(f.highWatermark))
  }
}
