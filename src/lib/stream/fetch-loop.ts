import { ExitCode, GameError } from '../errors.js'
import { type FetchedPartition, type LeanFetcher, nextFetchOffset } from '../kafka/lean-fetcher.js'
import { KafkaRequestError, NETWORK } from '../kafka/wire.js'
import { kafkaUnreachable } from './membership.js'
import { planOutOfRange } from './planner.js'

const OFFSET_OUT_OF_RANGE = 1
/** A failing fetch (broker down, no leader) is retried this often, and given up after this long. */
export const FETCH_BACKOFF_MS = 250
export const FETCH_GIVE_UP_MS = 30_000

/**
 * The fetch loop: for some partitions of one assignment, fetch, hand the records to `take`, let
 * the job spill and flush, until `live()` turns false. The next fetch goes out before this one's
 * records are routed (its offsets come from the batch headers only). Out-of-range offsets are
 * decided by the planner (planOutOfRange); retriable errors back off and give up after 30 s.
 */
export interface FetchLoopContext {
  topic: string
  fetcher: LeanFetcher
  now(): number
  /** For error messages. */
  brokers?: readonly string[]
  /** Next fetch offset per partition (shared with the job, which sets them at assignment and on a rewind). */
  positions: Map<number, number>
  /**
   * Per partition, bumped when the job moves its position back (a lost claim): a response to a
   * fetch sent before is dropped, so no records from the old position are routed.
   */
  rewinds: Map<number, number>
  /** False once stopped, failed or reassigned: the loop returns at its next await. */
  live(): boolean
  /** Routes one partition's records (synchronous: no rebalance can interleave). */
  take(f: FetchedPartition): void
  /** After each fetch's records were routed (spill, flush when due; may wait for backpressure). */
  afterFetch(): Promise<void>
  /** The next offset the job would accept for a partition (lake or read), if known. */
  accepted(partition: number): bigint | undefined
  warn(message: string): void
  /** Test seam: how a backoff waits. */
  sleep?: (ms: number) => Promise<void>
}

/**
 * Retriable fetch failures for longer than the give-up time: "unreachable" only when no broker
 * answered (connection refused, lost or silent); a broker that answered with an error code is named
 * with the API, version and Kafka's error instead.
 */
export function fetchGaveUp(
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

export async function runFetchLoop(ctx: FetchLoopContext, mine: readonly number[]): Promise<void> {
  const { fetcher, positions, rewinds, topic } = ctx
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const send = () => {
    const sentAt = mine.map((p) => rewinds.get(p) ?? 0)
    const r = fetcher.fetch(new Map(mine.map((p) => [p, positions.get(p) ?? 0])))
    r.catch(() => undefined) // awaited below; a loop that stopped leaves it
    return { r, current: (p: number) => sentAt[mine.indexOf(p)] === (rewinds.get(p) ?? 0) }
  }
  let failingSince = 0
  let request = send()
  while (ctx.live()) {
    const parts = await request.r
    const current = request.current
    if (!ctx.live()) return
    let backoff = false
    const routed: FetchedPartition[] = []
    for (const f of parts) {
      if (!current(f.partition)) continue // moved back meanwhile: these records are not next
      if (f.records !== null) {
        // Where the next fetch starts, from the batch headers only: it goes out before this one is routed.
        positions.set(f.partition, nextFetchOffset(f.records, f.fetchOffset))
        routed.push(f)
      } else if (f.errorCode === OFFSET_OUT_OF_RANGE) {
        const [earliest, latest] = await Promise.all([
          fetcher.listOffsets([f.partition], 'earliest'),
          fetcher.listOffsets([f.partition], 'latest'),
        ])
        const low = earliest.get(f.partition) ?? 0
        const action = planOutOfRange({
          topic,
          partition: f.partition,
          fetchOffset: f.fetchOffset,
          earliest: low,
          latest: latest.get(f.partition) ?? low,
          accepted: ctx.accepted(f.partition),
        })
        if (action.kind === 'refetch') continue
        if (!ctx.live()) return
        ctx.warn(action.warning)
        positions.set(f.partition, action.at)
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
      failingSince ||= ctx.now()
      if (ctx.now() - failingSince > FETCH_GIVE_UP_MS) throw fetchGaveUp(ctx.brokers, topic, failure)
      await sleep(FETCH_BACKOFF_MS)
      if (!ctx.live()) return
    } else failingSince = 0
    request = send()
    for (const f of routed) ctx.take(f)
    await ctx.afterFetch()
  }
}
