import { describe, expect, it } from 'vitest'
import type { GameError } from '../../../src/lib/errors.js'
import { type PlanInput, planAssignment, planOutOfRange } from '../../../src/lib/stream/planner.js'

const m = (entries: [number, number][]) => new Map(entries.map(([p, o]) => [p, BigInt(o)]))
const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  topic: 't',
  partitions: [0, 1, 2],
  lake: new Map(),
  accepted: new Map(),
  earliest: m([
    [0, 0],
    [1, 5],
    [2, 0],
  ]),
  latest: m([
    [0, 100],
    [1, 100],
    [2, 100],
  ]),
  fromBeginning: true,
  ...over,
})

function errorOf(fn: () => unknown): GameError {
  try {
    fn()
  } catch (error) {
    return error as GameError
  }
  throw new Error('did not throw')
}

describe('planAssignment', () => {
  it('resumes where the lake says, or further where this process read on; else at the log start', () => {
    const plan = planAssignment(
      base({
        lake: m([
          [0, 40],
          [2, 10],
        ]),
        accepted: m([
          [0, 30],
          [2, 25],
        ]),
      }),
    )
    expect([...plan.starts]).toEqual([
      [0, 40n],
      [1, 5n],
      [2, 25n],
    ])
    expect([...plan.committed]).toEqual([
      [0, 40n],
      [2, 10n],
    ])
    expect(plan.needGroup).toEqual([])
    expect(plan.warnings).toEqual([])
  })

  it('without from-beginning asks for the group offsets, then takes them, else the log end', () => {
    const input = base({ fromBeginning: false, lake: m([[0, 7]]) })
    const first = planAssignment(input)
    expect(first.needGroup).toEqual([1, 2])
    expect([...first.starts]).toEqual([[0, 7n]])
    const second = planAssignment({ ...input, group: new Map([[1, 60]]) })
    expect(second.needGroup).toEqual([])
    expect([...second.starts]).toEqual([
      [0, 7n],
      [1, 60n],
      [2, 100n],
    ])
  })

  it('stops with LAKE_AHEAD_OF_KAFKA when the lake is past the log end and the topic id is unknown or the same', () => {
    const lake = m([[1, 150]])
    expect(errorOf(() => planAssignment(base({ lake }))).code).toBe('LAKE_AHEAD_OF_KAFKA')
    const same = errorOf(() => planAssignment(base({ lake, topicId: 'a', lakeTopicId: 'a' })))
    expect(same.code).toBe('LAKE_AHEAD_OF_KAFKA')
    expect(same.message).toContain('Partition 1 of t ends at offset 100')
  })

  it('carries on from the new topic start, and says so, when the topic id changed', () => {
    // The caller left out the old topic's records: the lake has no offsets for this topic id yet.
    const plan = planAssignment(base({ fromBeginning: false, topicId: 'new', lakeTopicId: 'old' }))
    expect(plan.recreated).toEqual([0, 1, 2])
    expect([...plan.starts]).toEqual([
      [0, 0n],
      [1, 5n],
      [2, 0n],
    ])
    expect(plan.needGroup).toEqual([])
    expect(plan.warnings).toHaveLength(1)
    expect(plan.warnings[0]).toContain('deleted and created again')
    expect(plan.warnings[0]).toContain('old → new')
    // Once the new topic has commit records of its own, nothing is said any more.
    const later = planAssignment(base({ lake: m([[0, 3]]), topicId: 'new', lakeTopicId: 'new' }))
    expect(later.warnings).toEqual([])
    expect(later.starts.get(0)).toBe(3n)
  })
})

describe('planOutOfRange', () => {
  const at = { topic: 't', partition: 3, earliest: 10, latest: 50 }
  it('resumes at the log start below it, with a warning', () => {
    const a = planOutOfRange({ ...at, fetchOffset: 4 })
    expect(a).toMatchObject({ kind: 'resume', at: 10 })
    expect(a.kind === 'resume' && a.warning).toContain('below Kafka')
  })
  it('fetches again when the offset is back in range', () => {
    expect(planOutOfRange({ ...at, fetchOffset: 20 })).toEqual({ kind: 'refetch' })
  })
  it('resumes at the end when only the group said so; stops when the lake or this process is past the end', () => {
    expect(planOutOfRange({ ...at, fetchOffset: 70 })).toMatchObject({ kind: 'resume', at: 50 })
    expect(planOutOfRange({ ...at, fetchOffset: 70, accepted: 50n })).toMatchObject({
      kind: 'resume',
      at: 50,
    })
    expect(errorOf(() => planOutOfRange({ ...at, fetchOffset: 70, accepted: 71n })).code).toBe(
      'LAKE_AHEAD_OF_KAFKA',
    )
  })
})
