import { Writer } from '../../protocol/primitives.js'
import { ErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

/** FindCoordinator (10) v0-2: this node coordinates every group. */
export const findCoordinatorHandler: ApiHandler = {
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, r) {
    const v = ctx.apiVersion
    r.string() // key
    if (v >= 1) r.int8() // key_type: groups and transactions both land here
    const { broker } = ctx
    const w = new Writer(64)
    if (v >= 1) w.int32(0)
    w.int16(0)
    if (v >= 1) w.nullableString(null)
    w.int32(broker.nodeId).string(broker.advertisedHost).int32(broker.port())
    return w
  },
}

/** JoinGroup (11) v0-5; parked by the coordinator until the rebalance completes. */
export const joinGroupHandler: ApiHandler = {
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const sessionTimeoutMs = r.int32()
    const rebalanceTimeoutMs = v >= 1 ? r.int32() : sessionTimeoutMs
    const memberId = r.string()
    const groupInstanceId = v >= 5 ? r.nullableString() : null
    const protocolType = r.string()
    const protocols = r.array((r) => ({ name: r.string(), metadata: r.bytes() }))
    const res = await ctx.broker.groups.join({
      groupId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      memberId,
      groupInstanceId,
      protocolType,
      protocols,
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
      requireKnownMemberId: v >= 4,
    })
    const w = new Writer(128)
    if (v >= 2) w.int32(0)
    w.int16(res.error)
      .int32(res.generationId)
      .string(res.protocolName ?? '')
      .string(res.leader)
      .string(res.memberId)
    w.array(res.members, (w, m) => {
      w.string(m.memberId)
      if (v >= 5) w.nullableString(m.groupInstanceId)
      w.bytes(m.metadata)
    })
    return w
  },
}

/** SyncGroup (14) v0-3: the leader's assignments go to every member. */
export const syncGroupHandler: ApiHandler = {
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const generationId = r.int32()
    const memberId = r.string()
    if (v >= 3) r.nullableString()
    const assignments = r.array((r) => ({ memberId: r.string(), assignment: r.bytes() }))
    const res = await ctx.broker.groups.sync({ groupId, generationId, memberId, assignments })
    const w = new Writer(64)
    if (v >= 1) w.int32(0)
    w.int16(res.error).bytes(res.assignment)
    return w
  },
}

/** Heartbeat (12) v0-3. */
export const heartbeatHandler: ApiHandler = {
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 3,
  handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const generationId = r.int32()
    const memberId = r.string()
    if (v >= 3) r.nullableString()
    const error = ctx.broker.groups.heartbeat(groupId, generationId, memberId)
    const w = new Writer(16)
    if (v >= 1) w.int32(0)
    return w.int16(error)
  },
}

/** LeaveGroup (13) v0-3 (v3 leaves several members at once). */
export const leaveGroupHandler: ApiHandler = {
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 3,
  handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const members =
      v >= 3
        ? r.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString() }))
        : [{ memberId: r.string(), groupInstanceId: null }]
    const res = ctx.broker.groups.leave(
      groupId,
      members.map((m) => m.memberId),
    )
    const w = new Writer(64)
    if (v >= 1) w.int32(0)
    if (v < 3) return w.int16(res.members[0]?.error ?? res.error)
    w.int16(res.error)
    w.array(res.members, (w, m) => {
      w.string(m.memberId).nullableString(null).int16(m.error)
    })
    return w
  },
}

/** OffsetCommit (8) v2-7: generation and member checked as Kafka does, then stored durably. */
export const offsetCommitHandler: ApiHandler = {
  key: 8,
  name: 'OffsetCommit',
  minVersion: 2,
  maxVersion: 7,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const generationId = r.int32()
    const memberId = r.string()
    if (v >= 7) r.nullableString()
    if (v <= 4) r.int64() // retention_time_ms
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const index = r.int32()
        const offset = r.int64()
        if (v >= 6) r.int32() // committed_leader_epoch
        return { index, offset, metadata: r.nullableString() }
      }),
    }))
    const { broker } = ctx
    const entries = []
    const errors = new Map<string, number>()
    for (const t of topics) {
      for (const p of t.partitions) {
        if (!broker.logs.partition(t.name, p.index)) {
          errors.set(`${t.name}\u0000${p.index}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        } else entries.push({ topic: t.name, partition: p.index, offset: p.offset, metadata: p.metadata })
      }
    }
    let error: number = ErrorCode.NONE
    try {
      error = await broker.groups.commitOffsets(groupId, generationId, memberId, entries)
    } catch (error_) {
      broker.log('error', `offset commit for group ${groupId} failed: ${String(error_)}`)
      error = ErrorCode.KAFKA_STORAGE_ERROR
    }
    const w = new Writer(64 + topics.length * 32)
    if (v >= 3) w.int32(0)
    w.array(topics, (w, t) => {
      w.string(t.name)
      w.array(t.partitions, (w, p) =>
        w.int32(p.index).int16(errors.get(`${t.name}\u0000${p.index}`) ?? error),
      )
    })
    return w
  },
}

/** OffsetFetch (9) v1-5: every requested partition is answered (-1 when nothing is committed). */
export const offsetFetchHandler: ApiHandler = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 5,
  handle(ctx, r) {
    const v = ctx.apiVersion
    const groupId = r.string()
    const requested = r.nullableArray((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }))
    const store = ctx.broker.logs.offsets
    let topics: { name: string; partitions: { index: number; offset: bigint; metadata: string | null }[] }[]
    if (requested === null) {
      const byTopic = new Map<string, { index: number; offset: bigint; metadata: string | null }[]>()
      for (const e of store.fetchAll(groupId)) {
        let list = byTopic.get(e.topic)
        if (!list) byTopic.set(e.topic, (list = []))
        list.push({ index: e.partition, offset: e.value.offset, metadata: e.value.metadata })
      }
      topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }))
    } else {
      topics = requested.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((index) => {
          const c = store.fetch(groupId, t.name, index)
          return { index, offset: c ? c.offset : -1n, metadata: c ? c.metadata : '' }
        }),
      }))
    }
    const w = new Writer(64 + topics.length * 64)
    if (v >= 3) w.int32(0)
    w.array(topics, (w, t) => {
      w.string(t.name)
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int64(p.offset)
        if (v >= 5) w.int32(-1)
        w.nullableString(p.metadata ?? '').int16(0)
      })
    })
    if (v >= 2) w.int16(0)
    return w
  },
}

/** DescribeGroups (15) v0-4. */
export const describeGroupsHandler: ApiHandler = {
  key: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, r) {
    const v = ctx.apiVersion
    const ids = r.array((r) => r.string())
    if (v >= 3) r.bool()
    const groups = ids.map((id) => ctx.broker.groups.describe(id))
    const w = new Writer(256)
    if (v >= 1) w.int32(0)
    w.array(groups, (w, g) => {
      w.int16(g.error).string(g.groupId).string(g.state).string(g.protocolType).string(g.protocolData)
      w.array(g.members, (w, m) => {
        w.string(m.memberId)
        if (v >= 4) w.nullableString(m.groupInstanceId)
        w.string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment)
      })
      if (v >= 3) w.int32(-2147483648)
    })
    return w
  },
}

/** ListGroups (16) v0-2: live groups plus groups that only have committed offsets. */
export const listGroupsHandler: ApiHandler = {
  key: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 2,
  handle(ctx) {
    const v = ctx.apiVersion
    const groups = ctx.broker.groups.list()
    const w = new Writer(64 + groups.length * 32)
    if (v >= 1) w.int32(0)
    w.int16(0)
    w.array(groups, (w, g) => w.string(g.groupId).string(g.protocolType))
    return w
  },
}

let nextProducerId = BigInt(Date.now()) * 1000n

/** InitProducerId (22) v0-1: ids for idempotent producers (no transactions, no deduplication). */
export const initProducerIdHandler: ApiHandler = {
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,
  handle(_ctx, r) {
    const transactionalId = r.nullableString()
    r.int32()
    const w = new Writer(32)
    w.int32(0)
    if (transactionalId !== null)
      return w.int16(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED).int64(-1n).int16(-1)
    nextProducerId += 1n
    return w.int16(0).int64(nextProducerId).int16(0)
  },
}
