import { ExitCode, GameError } from '../errors.js'

/**
 * The assignment planner: where each assigned partition starts, from the lake's commit records,
 * what this process already read, the group's committed offsets and the log bounds. Pure: the job
 * gathers the inputs (one read of the commit records, one ListOffsets) and applies the plan.
 *
 * The rules, in order, per partition:
 *   0. the topic has another id than the lake's last commit record names (deleted and created
 *      again): the lake's offsets are the old topic's (the caller leaves them out, see
 *      layout.ts topicIncarnation); every partition starts at the new topic's start, and it says so.
 *   1. the lake (or this process, if it read further and still holds the rows) says where: resume
 *      there. If that is past the log's end, the topic was recreated or truncated under a lake that
 *      names no topic id: stop (LAKE_AHEAD_OF_KAFKA) rather than skip events.
 *   2. else --from-beginning: the log start seen at start of the run.
 *   3. else the group's committed offset, else the log end (Kafka's auto.offset.reset=latest).
 */
export interface PlanInput {
  topic: string
  partitions: readonly number[]
  /** Per partition, the next offset according to the lake's commit records (of this topic id). */
  lake: ReadonlyMap<number, bigint>
  /** Per partition, the next offset this process would accept (rows it read and still buffers). */
  accepted: ReadonlyMap<number, bigint>
  /** Log start per partition (as seen at the start of the run). */
  earliest: ReadonlyMap<number, bigint>
  /** Log end (high watermark) per partition, read for this assignment. */
  latest: ReadonlyMap<number, bigint>
  fromBeginning: boolean
  /** The group's committed offsets; undefined: not read yet (the plan says which partitions need them). */
  group?: ReadonlyMap<number, number>
  /** The topic's id now, and the one the lake's commit records name (both from Metadata v10+). */
  topicId?: string
  lakeTopicId?: string
}

export interface Plan {
  /** Per partition, the first offset to fetch. */
  starts: Map<number, bigint>
  /** Per partition, what the lake says (the tracker's committed offset); a recreated topic's partitions are left out. */
  committed: Map<number, bigint>
  /** Partitions that need the group's committed offsets (only when `group` was not given). */
  needGroup: number[]
  /** Partitions that start over at the new topic's start (the topic id changed). */
  recreated: number[]
  warnings: string[]
}

/** The lake holds (or this stream has read) a partition's events past the topic's end. */
export function lakeAheadOfKafka(
  topic: string,
  partition: number,
  offset: bigint,
  end: number | bigint,
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

export function planAssignment(input: PlanInput): Plan {
  const { topic } = input
  const starts = new Map<number, bigint>()
  const committed = new Map<number, bigint>()
  const needGroup: number[] = []
  const recreated: number[] = []
  const warnings: string[] = []
  const topicChanged =
    input.topicId !== undefined && input.lakeTopicId !== undefined && input.topicId !== input.lakeTopicId
  for (const p of input.partitions) {
    const fromLake = input.lake.get(p)
    const end = input.latest.get(p)
    if (fromLake !== undefined && end !== undefined && fromLake > end)
      throw lakeAheadOfKafka(topic, p, fromLake, end)
    if (fromLake !== undefined) committed.set(p, fromLake)
    const read = input.accepted.get(p)
    const known = fromLake === undefined ? read : read === undefined || read < fromLake ? fromLake : read
    if (known !== undefined) {
      starts.set(p, known)
      continue
    }
    if (topicChanged) recreated.push(p)
    if (topicChanged || input.fromBeginning) {
      const low = input.earliest.get(p)
      if (low !== undefined) {
        starts.set(p, low)
        continue
      }
    }
    const fromGroup = input.group?.get(p)
    if (fromGroup !== undefined) starts.set(p, BigInt(fromGroup))
    else if (input.group === undefined) needGroup.push(p)
    else {
      const at = input.fromBeginning ? input.earliest.get(p) : end
      if (at !== undefined) starts.set(p, at)
      else needGroup.push(p)
    }
  }
  if (recreated.length > 0) {
    warnings.push(
      `Topic ${topic} was deleted and created again since the lake was written (topic id ${input.lakeTopicId} → ${input.topicId}): partition${recreated.length === 1 ? '' : 's'} ${recreated.join(', ')} start${recreated.length === 1 ? 's' : ''} at the new topic's start; the old topic's rows stay in the lake`,
    )
  }
  return { starts, committed, needGroup, recreated, warnings }
}

/** What to do when a fetch answers OFFSET_OUT_OF_RANGE. */
export type OutOfRangeAction =
  /** The log moved meanwhile and the offset is in range again: fetch again. */
  | { kind: 'refetch' }
  /** Resume here, with this warning. */
  | { kind: 'resume'; at: number; warning: string }

/**
 * Below the log start (retention deleted it): resume at the start, with a warning. Past the end
 * with events read or in the lake beyond it: the topic was recreated or truncated under this
 * stream; stop (LAKE_AHEAD_OF_KAFKA). Past the end otherwise (only the group's offset said so):
 * resume at the end, as Kafka's auto.offset.reset=latest. Pure.
 */
export function planOutOfRange(input: {
  topic: string
  partition: number
  fetchOffset: number
  earliest: number
  latest: number
  /** The next offset this process would accept (lake or read), if known. */
  accepted?: bigint
}): OutOfRangeAction {
  const { partition: p, fetchOffset, earliest, latest } = input
  if (fetchOffset < earliest) {
    return {
      kind: 'resume',
      at: earliest,
      warning: `Partition ${p}: offset ${fetchOffset} is below Kafka's log start (deleted by retention); resumed at ${earliest}`,
    }
  }
  if (fetchOffset <= latest) return { kind: 'refetch' }
  if (input.accepted !== undefined && input.accepted > BigInt(latest)) {
    throw lakeAheadOfKafka(input.topic, p, input.accepted, latest, 'the lake holds or this stream has read')
  }
  return {
    kind: 'resume',
    at: latest,
    warning: `Partition ${p}: the group's offset ${fetchOffset} is past Kafka's end; resumed at the end, ${latest}`,
  }
}
