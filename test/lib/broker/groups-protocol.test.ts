import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SUPPORTED_APIS } from '../../../src/lib/broker/index.js'
import { ApiKey, apiSpec } from '../../../src/lib/protocol/apis.js'
import { ErrorCode } from '../../../src/lib/protocol/errors.js'
import type { Message } from '../../../src/lib/protocol/schema.js'
import { CodecClient } from './codec-client.js'
import { type TestBroker, testBroker } from './helpers.js'

/**
 * The group APIs at the top of Kafka 3.9's ranges (flexible versions), spoken by a raw client on the
 * descriptor codec, and the older versions where their behaviour differs.
 */

const META = Buffer.from('subscription')
const PROTOCOLS = [{ name: 'range', metadata: META }]

function join(group: string, memberId: string, instance: string | null, extra: Record<string, unknown> = {}) {
  return {
    groupId: group,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: instance,
    protocolType: 'consumer',
    protocols: PROTOCOLS,
    reason: 'test',
    ...extra,
  }
}

describe('group APIs at Kafka 3.9 versions', () => {
  let t: TestBroker
  let c: CodecClient
  const debug: string[] = []

  beforeAll(async () => {
    t = await testBroker({
      defaultPartitions: 2,
      logDebug: true,
      log: (level, message) => {
        if (level === 'debug') debug.push(message)
      },
    })
    c = await CodecClient.connect(t.broker.port)
    const created = await c.call(ApiKey.Metadata, 4, {
      topics: [{ name: 'gt' }],
      allowAutoTopicCreation: true,
    })
    expect(created.topics[0].errorCode).toBe(0)
  })
  afterAll(async () => {
    c?.close()
    await t?.close()
  })

  it('advertises every group API at exactly 3.9 validVersions', () => {
    for (const key of [8, 9, 10, 11, 12, 13, 14, 15, 16, 22, 42]) {
      const a = SUPPORTED_APIS.find((x) => x.key === key)
      expect(a, `api ${key}`).toBeDefined()
      expect([a!.minVersion, a!.maxVersion], `api ${key}`).toEqual([...apiSpec(key).valid])
    }
  })

  it('answers every version of every group API without dropping the connection', async () => {
    const expectCode = async (
      key: number,
      v: number,
      value: Record<string, unknown>,
      pick: (m: Message) => number,
      code: number,
    ) => {
      const res = await c.call(key, v, value)
      expect(pick(res), `${apiSpec(key).name} v${v}`).toBe(code)
    }
    const top = (m: Message) => m.errorCode as number
    for (let v = 0; v <= 6; v++)
      await expectCode(
        ApiKey.FindCoordinator,
        v,
        v < 4 ? { key: 'g', keyType: 0 } : { keyType: 0, coordinatorKeys: ['g'] },
        (m) => (v < 4 ? m.errorCode : m.coordinators[0].errorCode),
        0,
      )
    for (let v = 0; v <= 9; v++)
      await expectCode(
        ApiKey.JoinGroup,
        v,
        join(`sweep-${v}`, '', null),
        top,
        v < 4 ? 0 : ErrorCode.MEMBER_ID_REQUIRED,
      )
    for (let v = 0; v <= 5; v++)
      await expectCode(
        ApiKey.SyncGroup,
        v,
        {
          groupId: 'nope',
          generationId: 1,
          memberId: 'm',
          protocolType: 'consumer',
          protocolName: 'range',
          assignments: [],
        },
        top,
        ErrorCode.UNKNOWN_MEMBER_ID,
      )
    for (let v = 0; v <= 4; v++)
      await expectCode(
        ApiKey.Heartbeat,
        v,
        { groupId: 'nope', generationId: 1, memberId: 'm' },
        top,
        ErrorCode.UNKNOWN_MEMBER_ID,
      )
    for (let v = 0; v <= 5; v++)
      await expectCode(
        ApiKey.LeaveGroup,
        v,
        { groupId: 'nope', memberId: 'm', members: [{ memberId: 'm' }] },
        (m) => (v < 3 ? m.errorCode : m.members[0].errorCode),
        ErrorCode.UNKNOWN_MEMBER_ID,
      )
    for (let v = 0; v <= 9; v++)
      await expectCode(
        ApiKey.OffsetCommit,
        v,
        {
          groupId: `sweep-commit-${v}`,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          topics: [
            {
              name: 'gt',
              partitions: [{ partitionIndex: 0, committedOffset: BigInt(v), committedMetadata: null }],
            },
          ],
        },
        (m) => m.topics[0].partitions[0].errorCode,
        0,
      )
    for (let v = 0; v <= 9; v++) {
      const res = await c.call(
        ApiKey.OffsetFetch,
        v,
        v < 8
          ? { groupId: `sweep-commit-${v}`, topics: [{ name: 'gt', partitionIndexes: [0] }] }
          : { groups: [{ groupId: `sweep-commit-${v}`, topics: [{ name: 'gt', partitionIndexes: [0] }] }] },
      )
      const topics = v < 8 ? res.topics : res.groups[0].topics
      expect(topics[0].partitions[0].committedOffset, `OffsetFetch v${v}`).toBe(BigInt(v))
    }
    for (let v = 0; v <= 5; v++)
      await expectCode(
        ApiKey.DescribeGroups,
        v,
        { groups: ['nope'] },
        (m) => (m.groups[0].groupState === 'Dead' ? 0 : -1),
        0,
      )
    for (let v = 0; v <= 5; v++) await expectCode(ApiKey.ListGroups, v, {}, top, 0)
    for (let v = 0; v <= 2; v++)
      await expectCode(
        ApiKey.DeleteGroups,
        v,
        { groupsNames: ['nope'] },
        (m) => m.results[0].errorCode,
        ErrorCode.GROUP_ID_NOT_FOUND,
      )
    for (let v = 0; v <= 5; v++)
      await expectCode(
        ApiKey.InitProducerId,
        v,
        { transactionalId: null, transactionTimeoutMs: 1, producerId: -1n, producerEpoch: -1 },
        top,
        0,
      )
  })

  it('FindCoordinator v6 answers a batch; transactional keys are refused, v0 answers the node', async () => {
    const port = t.broker.port
    const groups = await c.call(ApiKey.FindCoordinator, 6, { keyType: 0, coordinatorKeys: ['a', 'b'] })
    expect(groups.coordinators).toEqual([
      { key: 'a', nodeId: 0, host: '127.0.0.1', port, errorCode: 0, errorMessage: null },
      { key: 'b', nodeId: 0, host: '127.0.0.1', port, errorCode: 0, errorMessage: null },
    ])
    const txn = await c.call(ApiKey.FindCoordinator, 6, { keyType: 1, coordinatorKeys: ['tx'] })
    expect(txn.coordinators[0].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    expect(txn.coordinators[0].errorMessage).toMatch(/transactions/)
    const bad = await c.call(ApiKey.FindCoordinator, 3, { key: 'x', keyType: 7 })
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    const v0 = await c.call(ApiKey.FindCoordinator, 0, { key: 'a' })
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port })
  })

  it('runs a static member through join v9, sync v5, heartbeat v4, commit v9, fetch v9, describe v5, list v5', async () => {
    const g = 'static-g'
    const j = await c.call(ApiKey.JoinGroup, 9, join(g, '', 'inst-1'))
    // A static member needs no MEMBER_ID_REQUIRED round trip.
    expect(j.errorCode).toBe(0)
    expect(j.memberId).toMatch(/^inst-1-/)
    expect(j.leader).toBe(j.memberId)
    expect(j.protocolType).toBe('consumer')
    expect(j.protocolName).toBe('range')
    expect(j.skipAssignment).toBe(false)
    expect(j.members).toEqual([{ memberId: j.memberId, groupInstanceId: 'inst-1', metadata: META }])
    const base = { groupId: g, generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'inst-1' }
    const wrong = await c.call(ApiKey.SyncGroup, 5, {
      ...base,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    })
    expect(wrong.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    const s = await c.call(ApiKey.SyncGroup, 5, {
      ...base,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: j.memberId, assignment: Buffer.from('A1') }],
    })
    expect(s).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' })
    expect(s.assignment).toEqual(Buffer.from('A1'))
    expect((await c.call(ApiKey.Heartbeat, 4, base)).errorCode).toBe(0)
    const commit = await c.call(ApiKey.OffsetCommit, 9, {
      groupId: g,
      generationIdOrMemberEpoch: j.generationId,
      memberId: j.memberId,
      groupInstanceId: 'inst-1',
      topics: [
        {
          name: 'gt',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, committedMetadata: 'm' },
            { partitionIndex: 9, committedOffset: 1n, committedMetadata: null },
          ],
        },
      ],
    })
    expect(commit.topics[0].partitions).toEqual([
      { partitionIndex: 0, errorCode: 0 },
      { partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ])
    const fetched = await c.call(ApiKey.OffsetFetch, 9, {
      groups: [
        { groupId: g, memberId: null, memberEpoch: -1, topics: [{ name: 'gt', partitionIndexes: [0, 1] }] },
        { groupId: 'nobody', memberId: null, memberEpoch: -1, topics: null },
      ],
      requireStable: true,
    })
    expect(fetched.groups).toEqual([
      {
        groupId: g,
        errorCode: 0,
        topics: [
          {
            name: 'gt',
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 42n,
                committedLeaderEpoch: -1,
                metadata: 'm',
                errorCode: 0,
              },
              {
                partitionIndex: 1,
                committedOffset: -1n,
                committedLeaderEpoch: -1,
                metadata: '',
                errorCode: 0,
              },
            ],
          },
        ],
      },
      { groupId: 'nobody', errorCode: 0, topics: [] },
    ])
    const all = await c.call(ApiKey.OffsetFetch, 7, { groupId: g, topics: null, requireStable: false })
    expect(all.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, committedOffset: 42n })
    const d = await c.call(ApiKey.DescribeGroups, 5, {
      groups: [g, 'unknown'],
      includeAuthorizedOperations: false,
    })
    expect(d.groups[0]).toMatchObject({
      errorCode: 0,
      groupId: g,
      groupState: 'Stable',
      protocolData: 'range',
    })
    expect(d.groups[0].members[0]).toMatchObject({ memberId: j.memberId, groupInstanceId: 'inst-1' })
    expect(d.groups[0].members[0].memberAssignment).toEqual(Buffer.from('A1'))
    expect(d.groups[1]).toMatchObject({ groupId: 'unknown', groupState: 'Dead' })
    const stable = await c.call(ApiKey.ListGroups, 5, { statesFilter: ['STABLE'], typesFilter: ['classic'] })
    expect(stable.groups).toContainEqual({
      groupId: g,
      protocolType: 'consumer',
      groupState: 'Stable',
      groupType: 'classic',
    })
    const empty = await c.call(ApiKey.ListGroups, 4, { statesFilter: ['Empty'] })
    expect(empty.groups.map((x: { groupId: string }) => x.groupId)).not.toContain(g)
    const consumerType = await c.call(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] })
    expect(consumerType.groups).toEqual([])

    // The client restarts: same instance id, new member id, same protocols: no rebalance.
    const again = await c.call(ApiKey.JoinGroup, 9, join(g, '', 'inst-1'))
    expect(again.errorCode).toBe(0)
    expect(again.memberId).not.toBe(j.memberId)
    expect(again.generationId).toBe(j.generationId)
    // v9: the replaced leader gets the members and is told to skip the assignment.
    expect(again.skipAssignment).toBe(true)
    expect(again.leader).toBe(again.memberId)
    const sync2 = {
      groupId: g,
      generationId: again.generationId,
      memberId: again.memberId,
      groupInstanceId: 'inst-1',
      protocolType: 'consumer',
      protocolName: null,
      assignments: [],
    }
    // v5 makes both mandatory; before v5 they do not exist.
    expect((await c.call(ApiKey.SyncGroup, 5, sync2)).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    expect((await c.call(ApiKey.SyncGroup, 4, sync2)).assignment).toEqual(Buffer.from('A1'))
    const s2 = await c.call(ApiKey.SyncGroup, 5, { ...sync2, protocolName: 'range' })
    expect(s2.errorCode).toBe(0)
    expect(s2.assignment).toEqual(Buffer.from('A1'))
    // The stale member id is fenced, by instance id; without one it is simply unknown.
    expect((await c.call(ApiKey.Heartbeat, 4, base)).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
    expect((await c.call(ApiKey.Heartbeat, 2, { ...base, groupInstanceId: null })).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    )
    const staleCommit = await c.call(ApiKey.OffsetCommit, 8, {
      groupId: g,
      generationIdOrMemberEpoch: j.generationId,
      memberId: j.memberId,
      groupInstanceId: 'inst-1',
      topics: [
        { name: 'gt', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] },
      ],
    })
    expect(staleCommit.topics[0].partitions[0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)

    // Before v9 the restarted leader is told the old leader id, so it does not reassign.
    const v5 = await c.call(ApiKey.JoinGroup, 5, join(g, '', 'inst-1'))
    expect(v5.errorCode).toBe(0)
    expect(v5.generationId).toBe(j.generationId)
    expect(v5.leader).toBe(again.memberId)
    expect(v5.members).toEqual([])

    // DeleteGroups refuses a group with members; LeaveGroup v5 by instance id empties it.
    const busy = await c.call(ApiKey.DeleteGroups, 2, { groupsNames: [g] })
    expect(busy.results).toEqual([{ groupId: g, errorCode: ErrorCode.NON_EMPTY_GROUP }])
    const fenced = await c.call(ApiKey.LeaveGroup, 5, {
      groupId: g,
      members: [{ memberId: j.memberId, groupInstanceId: 'inst-1', reason: 'bye' }],
    })
    expect(fenced.members[0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
    const left = await c.call(ApiKey.LeaveGroup, 5, {
      groupId: g,
      members: [{ memberId: '', groupInstanceId: 'inst-1', reason: 'shutting down' }],
    })
    expect(left).toMatchObject({
      errorCode: 0,
      members: [{ memberId: '', groupInstanceId: 'inst-1', errorCode: 0 }],
    })
    const dg = await c.call(ApiKey.DescribeGroups, 5, { groups: [g], includeAuthorizedOperations: false })
    expect(dg.groups[0].groupState).toBe('Empty')
    expect(debug.some((m) => m.startsWith('JoinGroup v9 '))).toBe(true)
    expect(debug.some((m) => m.startsWith('LeaveGroup v5 '))).toBe(true)
  })

  it('OffsetCommit checks as Kafka 3.9: simple commits, unknown groups by version, old versions', async () => {
    const commit = (version: number, group: string, generation: number, memberId = '') =>
      c.call(ApiKey.OffsetCommit, version, {
        groupId: group,
        generationIdOrMemberEpoch: generation,
        memberId,
        topics: [
          { name: 'gt', partitions: [{ partitionIndex: 1, committedOffset: 7n, committedMetadata: null }] },
        ],
      })
    const code = (r: Message): number => r.topics[0].partitions[0].errorCode
    expect(code(await commit(9, 'never-seen', 3, 'm'))).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    expect(code(await commit(8, 'never-seen', 3, 'm'))).toBe(ErrorCode.ILLEGAL_GENERATION)
    // generation -1: a simple (admin) commit is accepted, at v0 and at v9 alike
    expect(code(await commit(9, 'simple', -1))).toBe(0)
    expect(code(await commit(0, 'simple-v0', -1))).toBe(0)
    const f = await c.call(ApiKey.OffsetFetch, 0, {
      groupId: 'simple-v0',
      topics: [{ name: 'gt', partitionIndexes: [1] }],
    })
    expect(f.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 7n, errorCode: 0 })
  })

  it('DeleteGroups v2 deletes an empty group and its offsets durably; unknown groups are not found', async () => {
    const commit = await c.call(ApiKey.OffsetCommit, 9, {
      groupId: 'doomed',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: 'gt', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] },
      ],
    })
    expect(commit.topics[0].partitions[0].errorCode).toBe(0)
    const listed = await c.call(ApiKey.ListGroups, 5, { statesFilter: ['empty'], typesFilter: [] })
    expect(listed.groups.map((x: { groupId: string }) => x.groupId)).toContain('doomed')
    const r = await c.call(ApiKey.DeleteGroups, 2, { groupsNames: ['doomed', 'ghost'] })
    expect(r.results).toEqual([
      { groupId: 'doomed', errorCode: 0 },
      { groupId: 'ghost', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ])
    const v0 = await c.call(ApiKey.DeleteGroups, 0, { groupsNames: ['doomed'] })
    expect(v0.results[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    c.close()
    await t.restart()
    c = await CodecClient.connect(t.broker.port)
    const f = await c.call(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId: 'doomed', topics: [{ name: 'gt', partitionIndexes: [0] }] }],
      requireStable: false,
    })
    expect(f.groups[0].topics[0].partitions[0].committedOffset).toBe(-1n)
    const after = await c.call(ApiKey.ListGroups, 3, {})
    expect(after.groups.map((x: { groupId: string }) => x.groupId)).not.toContain('doomed')
    // the other groups' offsets survived the restart
    const kept = await c.call(ApiKey.OffsetFetch, 6, {
      groupId: 'simple',
      topics: null,
      requireStable: false,
    })
    expect(kept.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 7n })
  })

  it('kafkajs admin lists, describes and deletes groups (ListGroups v2, DescribeGroups v2, DeleteGroups v1)', async () => {
    const admin = t.kafka('admin').admin()
    await admin.connect()
    try {
      // (kafkajs's setOffsets joins the group first and takes seconds; a simple commit does the same)
      const commit = await c.call(ApiKey.OffsetCommit, 2, {
        groupId: 'kjs-admin',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [
          { name: 'gt', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedMetadata: null }] },
        ],
      })
      expect(commit.topics[0].partitions[0].errorCode).toBe(0)
      const { groups } = await admin.listGroups()
      expect(groups).toContainEqual({ groupId: 'kjs-admin', protocolType: 'consumer' })
      const described = await admin.describeGroups(['kjs-admin'])
      expect(described.groups[0]).toMatchObject({ groupId: 'kjs-admin', state: 'Empty', members: [] })
      const deleted = await admin.deleteGroups(['kjs-admin'])
      expect(deleted).toEqual([{ groupId: 'kjs-admin', errorCode: 0 }])
      expect(await admin.fetchOffsets({ groupId: 'kjs-admin', topics: ['gt'] })).toEqual([
        {
          topic: 'gt',
          partitions: [
            { partition: 0, offset: '-1', metadata: null },
            { partition: 1, offset: '-1', metadata: null },
          ],
        },
      ])
    } finally {
      await admin.disconnect()
    }
  })

  it('InitProducerId v5 hands out ids; transactional ids and half-given pairs are refused', async () => {
    const a = await c.call(ApiKey.InitProducerId, 5, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    })
    expect(a.errorCode).toBe(0)
    expect(a.producerEpoch).toBe(0)
    const b = await c.call(ApiKey.InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60_000 })
    expect(b.producerId).toBeGreaterThan(a.producerId)
    const tx = await c.call(ApiKey.InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 1 })
    expect(tx.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    const half = await c.call(ApiKey.InitProducerId, 3, {
      transactionalId: null,
      transactionTimeoutMs: 1,
      producerId: a.producerId,
      producerEpoch: -1,
    })
    expect(half.errorCode).toBe(ErrorCode.INVALID_REQUEST)
  })
})
