/**
 * Idempotent-producer state of one partition, after Kafka's ProducerStateManager (3.x): per producer
 * id its epoch and the last 5 batches it appended (first and last sequence, base offset). A batch
 * with producer id -1 is never checked. Rules, as Kafka 3.9 applies them to client appends:
 * - same producer, epoch and sequence range as one of the last 5 batches: a duplicate, not stored
 *   again, acknowledged with the original base offset;
 * - an epoch below the last seen one: INVALID_PRODUCER_EPOCH;
 * - a new (higher) epoch must start at sequence 0: OUT_OF_ORDER_SEQUENCE_NUMBER otherwise;
 * - same epoch: the first sequence must follow the last one (wrapping at 2^31-1), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a producer id without state (new, or its batches are gone from the scanned tail) is accepted at
 *   any sequence, as Kafka 3.x does since it stopped answering UNKNOWN_PRODUCER_ID for that case.
 * The state is in memory; a partition rebuilds it at open from the batch headers of its tail.
 */
import type { FileHandle } from 'node:fs/promises'
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD } from '../../protocol/batch.js'
import { readAt } from './files.js'
import { LogError } from './types.js'

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. */
export const BATCHES_TO_RETAIN = 5
/** Kafka's producer.id.expiration.ms default: a producer silent this long is forgotten. */
export const PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000
const NO_PRODUCER_ID = -1n
const INT32_MAX = 0x7fffffff

interface BatchMeta {
  firstSeq: number
  lastSeq: number
  baseOffset: bigint
  /** Settles when the original append is durable (absent for batches replayed at open). */
  done?: Promise<unknown>
}

interface ProducerEntry {
  epoch: number
  /** The table's coarse clock when the producer last appended. */
  lastSeen: number
  /** Oldest first, at most BATCHES_TO_RETAIN. */
  batches: BatchMeta[]
}

/** One batch's producer fields, read from its header. */
export interface ProducerBatch {
  producerId: bigint
  epoch: number
  firstSeq: number
  /** Records in the batch minus one (= lastOffsetDelta). */
  lastOffsetDelta: number
}

/** What the check of a payload decided. */
export type ProducerCheck =
  | {
      kind: 'append'
      /** Records the batches once the append has its base offset; `done` settles when durable. */
      commit: (baseOffset: bigint, done: Promise<unknown>) => void
    }
  | { kind: 'duplicate'; baseOffset: bigint; done?: Promise<unknown> }

/** Reads the producer fields of the batch at `pos` (RecordBatch v2 header layout). */
export function producerBatchAt(buf: Buffer, pos: number): ProducerBatch {
  return {
    producerId: buf.readBigInt64BE(pos + 43),
    epoch: buf.readInt16BE(pos + 51),
    firstSeq: buf.readInt32BE(pos + 53),
    lastOffsetDelta: buf.readInt32BE(pos + 23),
  }
}

function lastSeqOf(firstSeq: number, lastOffsetDelta: number): number {
  const last = firstSeq + lastOffsetDelta
  return last > INT32_MAX ? last - INT32_MAX - 1 : last
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

export class ProducerStateTable {
  private readonly producers = new Map<bigint, ProducerEntry>()
  /** A coarse clock, advanced by expire() (the retention check), so appends never read the time. */
  private clock: number

  constructor(
    private readonly partitionName: string,
    now = Date.now(),
  ) {
    this.clock = now
  }

  /** Advances the clock and forgets producers silent for PRODUCER_ID_EXPIRATION_MS (Kafka's default). */
  expire(now: number, expirationMs = PRODUCER_ID_EXPIRATION_MS): number {
    this.clock = now
    let expired = 0
    for (const [id, entry] of this.producers) {
      if (entry.lastSeen < now - expirationMs) {
        this.producers.delete(id)
        expired++
      }
    }
    return expired
  }

  get size(): number {
    return this.producers.size
  }

  /**
   * Checks the batches of one append (positions into `payload`). Returns null when no batch has a
   * producer id (nothing to track), a duplicate (the whole append is one already stored), or an
   * append whose commit() records the batches once their offsets are assigned. Throws LogError
   * OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH, in which case nothing may be appended.
   */
  check(payload: Buffer, spans: readonly { position: number }[]): ProducerCheck | null {
    if (spans.length === 1) {
      // The common case (one batch per partition and request): one Map lookup.
      const pos = spans[0].position
      if (payload.readBigInt64BE(pos + 43) === NO_PRODUCER_ID) return null
      const b = producerBatchAt(payload, pos)
      const entry = this.producers.get(b.producerId)
      const dup = entry ? this.duplicate(entry, b) : undefined
      if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset, done: dup.done }
      this.validate(entry, b)
      return {
        kind: 'append',
        commit: (baseOffset, done) => this.record(b, baseOffset, done),
      }
    }
    const batches = spans.map((s) => producerBatchAt(payload, s.position))
    if (batches.every((b) => b.producerId === NO_PRODUCER_ID)) return null
    // Several batches: each is checked against the state the earlier ones would leave.
    const staged = new Map<bigint, ProducerEntry | undefined>()
    const current = (id: bigint) => (staged.has(id) ? staged.get(id) : this.producers.get(id))
    for (const b of batches) {
      if (b.producerId === NO_PRODUCER_ID) continue
      const entry = current(b.producerId)
      const dup = entry ? this.duplicate(entry, b) : undefined
      // As Kafka: a duplicate anywhere answers the whole request with that batch's offset.
      if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset, done: dup.done }
      this.validate(entry, b)
      staged.set(b.producerId, {
        epoch: b.epoch,
        lastSeen: this.clock,
        batches: [
          ...(entry && entry.epoch === b.epoch ? entry.batches : []),
          { firstSeq: b.firstSeq, lastSeq: lastSeqOf(b.firstSeq, b.lastOffsetDelta), baseOffset: -1n },
        ],
      })
    }
    return {
      kind: 'append',
      commit: (baseOffset, done) => {
        // The batches of one append get consecutive offsets.
        let next = baseOffset
        for (const b of batches) {
          if (b.producerId !== NO_PRODUCER_ID) this.record(b, next, done)
          next += BigInt(b.lastOffsetDelta) + 1n
        }
      },
    }
  }

  /**
   * Forgets the batches recorded at or after `offset`: appends that failed to reach the disk and
   * were undone, so that the producer's retry of them is stored, not taken for a duplicate.
   */
  dropFrom(offset: bigint): void {
    for (const [id, entry] of this.producers) {
      const kept = entry.batches.filter((m) => m.baseOffset < offset)
      if (kept.length === entry.batches.length) continue
      // None left: forget the producer (its next batch is accepted at any sequence, as a new one).
      if (kept.length === 0) this.producers.delete(id)
      else entry.batches = kept
    }
  }

  /** Records a batch already in the log (rebuild at open), without checks. */
  replay(b: ProducerBatch, baseOffset: bigint): void {
    if (b.producerId === NO_PRODUCER_ID) return
    this.record(b, baseOffset, undefined)
  }

  private duplicate(entry: ProducerEntry, b: ProducerBatch): BatchMeta | undefined {
    if (entry.epoch !== b.epoch) return undefined
    const lastSeq = lastSeqOf(b.firstSeq, b.lastOffsetDelta)
    for (const m of entry.batches) if (m.firstSeq === b.firstSeq && m.lastSeq === lastSeq) return m
    return undefined
  }

  private validate(entry: ProducerEntry | undefined, b: ProducerBatch): void {
    if (!entry) return // no state: any sequence is accepted (Kafka 3.x)
    if (b.epoch < entry.epoch) {
      throw new LogError(
        'INVALID_PRODUCER_EPOCH',
        `${this.partitionName}: epoch ${b.epoch} of producer ${b.producerId} is older than the last seen epoch ${entry.epoch}`,
      )
    }
    if (b.epoch !== entry.epoch) {
      if (b.firstSeq !== 0)
        throw new LogError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `${this.partitionName}: new epoch ${b.epoch} of producer ${b.producerId} starts at sequence ${b.firstSeq}, not 0`,
        )
      return
    }
    const last = entry.batches[entry.batches.length - 1]
    if (last && !inSequence(last.lastSeq, b.firstSeq)) {
      throw new LogError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `${this.partitionName}: producer ${b.producerId} sent sequence ${b.firstSeq}, expected ${last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1}`,
      )
    }
  }

  private record(b: ProducerBatch, baseOffset: bigint, done: Promise<unknown> | undefined): void {
    let entry = this.producers.get(b.producerId)
    if (!entry || entry.epoch !== b.epoch) {
      entry = { epoch: b.epoch, lastSeen: this.clock, batches: [] }
      this.producers.set(b.producerId, entry)
    }
    entry.lastSeen = this.clock
    // `done` is kept as it is: once settled it holds only the small append result, not the data.
    const meta: BatchMeta = {
      firstSeq: b.firstSeq,
      lastSeq: lastSeqOf(b.firstSeq, b.lastOffsetDelta),
      baseOffset,
      done,
    }
    if (entry.batches.length === BATCHES_TO_RETAIN) entry.batches.shift()
    entry.batches.push(meta)
  }
}

/**
 * Replays the producer fields of every batch header in `size` bytes of a segment file into
 * `table`, reading in chunks and skipping over the record data of batches larger than a chunk.
 */
export async function replaySegmentHeaders(
  fh: FileHandle,
  size: number,
  table: ProducerStateTable,
): Promise<void> {
  const CHUNK = 64 * 1024
  let pos = 0
  while (pos + BATCH_HEADER_SIZE <= size) {
    const chunk = await readAt(fh, pos, Math.min(CHUNK, size - pos))
    let p = 0
    while (p + BATCH_HEADER_SIZE <= chunk.length) {
      const batchSize = BATCH_LOG_OVERHEAD + chunk.readInt32BE(p + 8)
      if (batchSize < BATCH_HEADER_SIZE) return // not a batch: stop (the segment was checked at roll)
      table.replay(producerBatchAt(chunk, p), chunk.readBigInt64BE(p))
      p += batchSize
    }
    if (p === 0) return
    pos += p
  }
}
