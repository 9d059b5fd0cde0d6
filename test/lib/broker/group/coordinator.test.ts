import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { GroupCoordinator, type JoinGroupRequest } from '../../../../src/lib/broker/group/coordinator.js'
import type { GroupOffsetStore } from '../../../../src/lib/broker/log/types.js'
import { openMemoryLogManager } from '../../../../src/lib/broker/memory-log.js'

const META = Buffer.from('meta')

function joinReq(memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 5000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'RoundRobinAssigner', metadata: META }],
    clientId: 'c',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: true,
    ...overrides,
  }
}

describe('GroupCoordinator', () => {
  let store: GroupOffsetStore
  let gc: GroupCoordinator

  beforeEach(() => {
    vi.useFakeTimers()
    store = openMemoryLogManager().offsets
    gc = new GroupCoordinator({ offsets: store })
  })
  afterEach(() => {
    gc.close()
    vi.useRealTimers()
  })

  /** Joins a new member through the MEMBER_ID_REQUIRED round trip; returns the parked join. */
  async function newMember(overrides: Partial<JoinGroupRequest> = {}) {
    const first = await gc.join(joinReq('', overrides))
    expect(first.error).toBe(79)
    expect(first.memberId).not.toBe('')
    return { id: first.memberId, join: gc.join(joinReq(first.memberId, overrides)) }
  }

  async function stableGroupOfOne() {
    const a = await newMember()
    const ja = await a.join
    expect(ja.error).toBe(0)
    const sa = await gc.sync({
      groupId: 'g',
      generationId: ja.generationId,
      memberId: a.id,
      assignments: [{ memberId: a.id, assignment: Buffer.from('A') }],
    })
    expect(sa).toEqual({ error: 0, assignment: Buffer.from('A') })
    return { id: a.id, generation: ja.generationId }
  }

  it('validates joins: group id, session timeout, protocols', async () => {
    expect((await gc.join(joinReq('', { groupId: '' }))).error).toBe(24)
    expect((await gc.join(joinReq('', { sessionTimeoutMs: 1 }))).error).toBe(26)
    expect((await gc.join(joinReq('', { protocols: [] }))).error).toBe(23)
    expect((await gc.join(joinReq('nobody'))).error).toBe(25)
    await stableGroupOfOne()
    const other = await gc.join(joinReq('', { protocols: [{ name: 'other', metadata: META }] }))
    expect(other.error).toBe(23)
  })

  it('completes a single-member join with the member as leader', async () => {
    const a = await newMember()
    const ja = await a.join
    expect(ja).toMatchObject({
      error: 0,
      generationId: 1,
      leader: a.id,
      memberId: a.id,
      protocolName: 'RoundRobinAssigner',
    })
    expect(ja.members).toEqual([{ memberId: a.id, groupInstanceId: null, metadata: META }])
    expect(gc.describe('g').state).toBe('CompletingRebalance')
    await gc.sync({ groupId: 'g', generationId: 1, memberId: a.id, assignments: [] })
    expect(gc.describe('g').state).toBe('Stable')
    expect(store.lastGeneration('g')).toBe(1)
  })

  it('parks a new member until the existing one rejoins, then syncs both', async () => {
    const a = await stableGroupOfOne()
    const b = await newMember()
    let bDone = false
    void b.join.then(() => (bDone = true))
    await vi.advanceTimersByTimeAsync(10)
    expect(bDone).toBe(false)
    expect(gc.heartbeat('g', a.generation, a.id)).toBe(27)
    const ja = await gc.join(joinReq(a.id))
    const jb = await b.join
    expect(ja.generationId).toBe(a.generation + 1)
    expect(jb.generationId).toBe(ja.generationId)
    expect(ja.leader).toBe(a.id)
    expect(ja.members.map((m) => m.memberId).sort()).toEqual([a.id, b.id].sort())
    expect(jb.members).toEqual([])
    // Follower's sync waits for the leader's assignment.
    const sb = gc.sync({ groupId: 'g', generationId: jb.generationId, memberId: b.id, assignments: [] })
    expect(await gc.commitOffsets('g', ja.generationId, a.id, [])).toBe(27)
    const sa = await gc.sync({
      groupId: 'g',
      generationId: ja.generationId,
      memberId: a.id,
      assignments: [
        { memberId: a.id, assignment: Buffer.from('A') },
        { memberId: b.id, assignment: Buffer.from('B') },
      ],
    })
    expect(sa.assignment.toString()).toBe('A')
    expect((await sb).assignment.toString()).toBe('B')
    expect(gc.heartbeat('g', ja.generationId, b.id)).toBe(0)
    expect(gc.heartbeat('g', ja.generationId - 1, b.id)).toBe(22)
    const d = gc.describe('g')
    expect(d.state).toBe('Stable')
    expect(d.members).toHaveLength(2)
  })

  it('drops a member that does not rejoin within the rebalance timeout', async () => {
    const a = await stableGroupOfOne()
    // Keep a alive by heartbeats (27) but never rejoin.
    const b = await newMember({ rebalanceTimeoutMs: 3000 })
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(500)
      gc.heartbeat('g', a.generation, a.id)
    }
    await vi.advanceTimersByTimeAsync(3000)
    const jb = await b.join
    expect(jb.error).toBe(0)
    expect(jb.leader).toBe(b.id)
    expect(jb.members.map((m) => m.memberId)).toEqual([b.id])
    expect(gc.heartbeat('g', a.generation, a.id)).toBe(25)
  })

  it('expires a silent member after its session timeout and rebalances', async () => {
    const a = await stableGroupOfOne()
    await vi.advanceTimersByTimeAsync(1100)
    expect(gc.describe('g').state).toBe('Empty')
    expect(gc.heartbeat('g', a.generation, a.id)).toBe(25)
    expect(store.lastGeneration('g')).toBe(a.generation + 1)
  })

  it('keeps a member with a parked join alive past its session timeout', async () => {
    const a = await stableGroupOfOne()
    const b = await newMember({ sessionTimeoutMs: 500 })
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(400)
      expect(gc.heartbeat('g', a.generation, a.id)).toBe(27)
    }
    const ja = await gc.join(joinReq(a.id))
    expect((await b.join).generationId).toBe(ja.generationId)
  })

  it('rebalances when a member leaves; unknown members get 25', async () => {
    const a = await stableGroupOfOne()
    const b = await newMember()
    const ja = gc.join(joinReq(a.id))
    const [ra, rb] = await Promise.all([ja, b.join])
    const sb = gc.sync({ groupId: 'g', generationId: rb.generationId, memberId: b.id, assignments: [] })
    await gc.sync({ groupId: 'g', generationId: ra.generationId, memberId: a.id, assignments: [] })
    await sb
    expect(gc.leave('g', [b.id, 'ghost'])).toEqual({
      error: 0,
      members: [
        { memberId: b.id, error: 0 },
        { memberId: 'ghost', error: 25 },
      ],
    })
    expect(gc.heartbeat('g', ra.generationId, a.id)).toBe(27)
    const again = await gc.join(joinReq(a.id))
    expect(again.generationId).toBe(ra.generationId + 1)
    expect(again.members.map((m) => m.memberId)).toEqual([a.id])
  })

  it('applies Kafka commit rules and stores any int64 offset', async () => {
    const e = [{ topic: 't', partition: 0, offset: -2n, metadata: null }]
    expect(await gc.commitOffsets('g', -1, '', e)).toBe(0)
    expect(store.fetch('g', 't', 0)?.offset).toBe(-2n)
    expect(await gc.commitOffsets('nogroup', 5, 'x', e)).toBe(22)
    const a = await stableGroupOfOne()
    expect(await gc.commitOffsets('g', a.generation, 'stranger', e)).toBe(25)
    expect(await gc.commitOffsets('g', a.generation + 7, a.id, e)).toBe(22)
    // A new member starts a rebalance: the old generation may still commit (kafkajs does this before rejoining).
    const b = await newMember()
    const ok = [{ topic: 't', partition: 0, offset: 42n, metadata: 'm' }]
    expect(await gc.commitOffsets('g', a.generation, a.id, ok)).toBe(0)
    expect(store.fetch('g', 't', 0)).toMatchObject({ offset: 42n, metadata: 'm' })
    await Promise.all([gc.join(joinReq(a.id)), b.join])
  })

  it('answers a sync for a wrong generation or during a rebalance with 22 / 27', async () => {
    const a = await stableGroupOfOne()
    expect((await gc.sync({ groupId: 'g', generationId: 99, memberId: a.id, assignments: [] })).error).toBe(
      22,
    )
    const b = await newMember()
    expect(
      (await gc.sync({ groupId: 'g', generationId: a.generation, memberId: a.id, assignments: [] })).error,
    ).toBe(27)
    expect((await gc.sync({ groupId: 'nope', generationId: 1, memberId: a.id, assignments: [] })).error).toBe(
      25,
    )
    await Promise.all([gc.join(joinReq(a.id)), b.join])
  })

  it('never hands out a generation below the persisted one', async () => {
    await store.setGeneration('g', 41)
    const fresh = new GroupCoordinator({ offsets: store })
    const first = await fresh.join(joinReq('', { requireKnownMemberId: false }))
    expect(first.generationId).toBe(42)
    fresh.close()
  })

  it('waits for the initial rebalance delay before completing an empty group', async () => {
    const delayed = new GroupCoordinator({ offsets: store, initialRebalanceDelayMs: 300 })
    let done = false
    const first = delayed.join(joinReq('', { requireKnownMemberId: false })).then((r) => {
      done = true
      return r
    })
    await vi.advanceTimersByTimeAsync(200)
    expect(done).toBe(false)
    const second = delayed.join(joinReq('', { requireKnownMemberId: false }))
    await vi.advanceTimersByTimeAsync(150)
    const [r1, r2] = await Promise.all([first, second])
    expect(r1.generationId).toBe(r2.generationId)
    expect([r1.members.length, r2.members.length].sort()).toEqual([0, 2])
    delayed.close()
  })

  describe('static membership', () => {
    const staticReq = (memberId: string, instance = 'i1', overrides: Partial<JoinGroupRequest> = {}) =>
      joinReq(memberId, { groupInstanceId: instance, ...overrides })

    async function stableStatic() {
      const j = await gc.join(staticReq(''))
      expect(j.error).toBe(0)
      const s = await gc.sync({
        groupId: 'g',
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: 'i1',
        assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }],
      })
      expect(s.error).toBe(0)
      return j
    }

    it('fences a known member id joining with an instance id owned by another member', async () => {
      const j1 = await stableStatic()
      const p2 = gc.join(staticReq('', 'i2'))
      const [r1, r2] = await Promise.all([gc.join(staticReq(j1.memberId, 'i1')), p2])
      expect([r1.error, r2.error]).toEqual([0, 0])
      expect((await gc.join(staticReq(j1.memberId, 'i2'))).error).toBe(82)
      const sync = (memberId: string, instance: string) =>
        gc.sync({
          groupId: 'g',
          generationId: r1.generationId,
          memberId,
          groupInstanceId: instance,
          assignments: [],
        })
      const syncs = await Promise.all([sync(j1.memberId, 'i1'), sync(r2.memberId, 'i2')])
      expect(syncs.map((x) => x.error)).toEqual([0, 0])
      // a replaced member id is simply unknown to JoinGroup, as in Kafka
      const again = await gc.join(staticReq('', 'i2'))
      expect(again.error).toBe(0)
      expect((await gc.join(staticReq(r2.memberId, 'i2'))).error).toBe(25)
    })

    it('a rejoin with other protocols rebalances; with the same ones it does not', async () => {
      const j = await stableStatic()
      const same = await gc.join(staticReq(''))
      expect(same.generationId).toBe(j.generationId)
      expect(gc.describe('g').state).toBe('Stable')
      // A protocol no member supports is inconsistent (as Kafka); a new first choice rebalances.
      const foreign = [{ name: 'CooperativeSticky', metadata: META }]
      expect((await gc.join(staticReq('', 'i1', { protocols: foreign }))).error).toBe(23)
      const changed = await gc.join(
        staticReq('', 'i1', { protocols: [...foreign, { name: 'RoundRobinAssigner', metadata: META }] }),
      )
      expect(changed.error).toBe(0)
      expect(changed.generationId).toBe(j.generationId + 1)
      expect(gc.heartbeat('g', changed.generationId, same.memberId, 'i1')).toBe(82)
    })

    it('a rejoin during CompletingRebalance rebalances and fences the parked sync of the old id', async () => {
      const a = await newMember()
      const ja = await a.join
      const j = gc.join(staticReq(''))
      // a's heartbeat learns of the rebalance; a rejoins; both get the new generation
      expect(gc.heartbeat('g', ja.generationId, a.id)).toBe(27)
      const [ra, rs] = await Promise.all([gc.join(joinReq(a.id)), j])
      expect(rs.error).toBe(0)
      const parked = gc.sync({
        groupId: 'g',
        generationId: rs.generationId,
        memberId: rs.memberId,
        assignments: [],
      })
      const again = gc.join(staticReq(''))
      expect((await parked).error).toBe(82)
      const ra2 = gc.join(joinReq(a.id))
      const [r2, rb2] = await Promise.all([again, ra2])
      expect(r2.error).toBe(0)
      expect(r2.generationId).toBe(ra.generationId + 1)
      expect(rb2.generationId).toBe(r2.generationId)
    })

    it('drops a static member whose session expires; the instance then joins as new', async () => {
      const j = await stableStatic()
      await vi.advanceTimersByTimeAsync(1100)
      expect(gc.describe('g').state).toBe('Empty')
      expect(gc.heartbeat('g', j.generationId, j.memberId, 'i1')).toBe(25)
      const back = await gc.join(staticReq(''))
      expect(back.generationId).toBe(j.generationId + 2)
    })

    it('deletes only empty groups, with their offsets', async () => {
      const j = await stableStatic()
      await gc.commitOffsets(
        'g',
        j.generationId,
        j.memberId,
        [{ topic: 't', partition: 0, offset: 3n, metadata: null }],
        {
          groupInstanceId: 'i1',
        },
      )
      expect(await gc.deleteGroups(['g', 'nope'])).toEqual([
        { groupId: 'g', error: 68 },
        { groupId: 'nope', error: 69 },
      ])
      expect(gc.leave('g', [{ memberId: '', groupInstanceId: 'i1' }]).members[0].error).toBe(0)
      await vi.advanceTimersByTimeAsync(10)
      expect(store.fetch('g', 't', 0)?.offset).toBe(3n)
      expect(await gc.deleteGroups(['g'])).toEqual([{ groupId: 'g', error: 0 }])
      expect(store.fetch('g', 't', 0)).toBeUndefined()
      expect(gc.describe('g').state).toBe('Dead')
    })
  })
})
