import type { Message } from '../../protocol/schema.js'
import type { GroupDescription, LeavingMember } from '../group/coordinator.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode } from './errors.js'
import type { RequestContext } from './types.js'

/**
 * The group-coordinator APIs and InitProducerId, decoded and encoded by the descriptor codec
 * (Apache Kafka 3.9's message definitions), each advertising 3.9's validVersions, flexible versions
 * included. The rules live in the GroupCoordinator; these handlers translate.
 */

const TRANSACTIONS_UNSUPPORTED = 'The embedded broker does not support transactions.'

/**
 * FindCoordinator (10) v0-6 (batched keys from v4): this node coordinates every group. Key type 1
 * (a transactional id) gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED, not retriable: there is no
 * transaction coordinator; any other key type is INVALID_REQUEST, as Kafka answers.
 */
export const findCoordinatorHandler = codecHandler(10, (ctx, req) => {
  const { broker } = ctx
  const answer = (key: string) => {
    const error =
      req.keyType === 0
        ? ErrorCode.NONE
        : req.keyType === 1
          ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
          : ErrorCode.INVALID_REQUEST
    const message =
      error === ErrorCode.NONE
        ? null
        : error === ErrorCode.INVALID_REQUEST
          ? `unknown coordinator key type ${req.keyType}`
          : TRANSACTIONS_UNSUPPORTED
    return {
      key,
      nodeId: error ? -1 : broker.nodeId,
      host: error ? '' : broker.advertisedHost,
      port: error ? -1 : broker.port(),
      errorCode: error,
      errorMessage: message,
    }
  }
  if (ctx.apiVersion >= 4) {
    return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys as string[]).map(answer) }
  }
  const a = answer(req.key as string)
  return { throttleTimeMs: 0, ...a }
})

/** JoinGroup (11) v0-9; parked by the coordinator until the rebalance completes. */
export const joinGroupHandler = codecHandler(11, async (ctx, req) => {
  const v = ctx.apiVersion
  const res = await ctx.broker.groups.join({
    groupId: req.groupId,
    sessionTimeoutMs: req.sessionTimeoutMs,
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    protocolType: req.protocolType,
    protocols: req.protocols,
    clientId: ctx.clientId,
    clientHost: ctx.clientHost,
    requireKnownMemberId: v >= 4,
    supportsSkipAssignment: v >= 9,
    reason: req.reason,
  })
  const ok = res.error === ErrorCode.NONE
  return {
    throttleTimeMs: 0,
    errorCode: res.error,
    generationId: res.generationId,
    protocolType: ok ? ctx.broker.groups.protocolOf(req.groupId).protocolType : null,
    // Nullable from v7; before that "" stands for none.
    protocolName: res.protocolName ?? (v >= 7 ? null : ''),
    leader: res.leader,
    skipAssignment: res.skipAssignment ?? false,
    memberId: res.memberId,
    members: res.members,
  }
})

/**
 * SyncGroup (14) v0-5: the leader's assignments go to every member; v5 requires protocol type and
 * name and checks them against the group's.
 */
export const syncGroupHandler = codecHandler(14, async (ctx, req) => {
  // From v5 both are mandatory (Kafka's SyncGroupRequest.areMandatoryProtocolTypeAndNamePresent).
  if (ctx.apiVersion >= 5 && (req.protocolType === null || req.protocolName === null)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    }
  }
  const res = await ctx.broker.groups.sync({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    protocolType: req.protocolType,
    protocolName: req.protocolName,
    assignments: req.assignments,
  })
  const protocol =
    res.error === ErrorCode.NONE
      ? ctx.broker.groups.protocolOf(req.groupId)
      : { protocolType: null, protocolName: null }
  return { throttleTimeMs: 0, errorCode: res.error, ...protocol, assignment: res.assignment }
})

/** Heartbeat (12) v0-4. */
export const heartbeatHandler = codecHandler(12, (ctx, req) => ({
  throttleTimeMs: 0,
  errorCode: ctx.broker.groups.heartbeat(req.groupId, req.generationId, req.memberId, req.groupInstanceId),
}))

/** LeaveGroup (13) v0-5: one member (v0-2), or several by member or instance id (v3+, reasons v5). */
export const leaveGroupHandler = codecHandler(13, (ctx, req) => {
  const v = ctx.apiVersion
  const leaving: LeavingMember[] =
    v >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }]
  const res = ctx.broker.groups.leave(req.groupId, leaving)
  if (v < 3) return { throttleTimeMs: 0, errorCode: res.members[0]?.error ?? res.error }
  return {
    throttleTimeMs: 0,
    errorCode: res.error,
    members: res.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      errorCode: m.error,
    })),
  }
})

/**
 * OffsetCommit (8) v0-9: generation, member and instance id checked as Kafka 3.9 checks a classic
 * group's commit (v9 included: GROUP_ID_NOT_FOUND for an unknown group), then stored durably.
 */
export const offsetCommitHandler = codecHandler(8, async (ctx, req) => {
  const { broker } = ctx
  const entries = []
  const unknown = new Set<string>()
  for (const t of req.topics) {
    for (const p of t.partitions) {
      if (!broker.logs.partition(t.name, p.partitionIndex)) unknown.add(`${t.name}\u0000${p.partitionIndex}`)
      else
        entries.push({
          topic: t.name as string,
          partition: p.partitionIndex as number,
          offset: p.committedOffset as bigint,
          metadata: p.committedMetadata as string | null,
        })
    }
  }
  let error: number = ErrorCode.NONE
  try {
    error = await broker.groups.commitOffsets(
      req.groupId,
      req.generationIdOrMemberEpoch,
      req.memberId,
      entries,
      {
        groupInstanceId: req.groupInstanceId,
        apiVersion: ctx.apiVersion,
      },
    )
  } catch (error_) {
    broker.log('error', `offset commit for group ${req.groupId} failed: ${String(error_)}`)
    error = ErrorCode.KAFKA_STORAGE_ERROR
  }
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t: Message) => ({
      name: t.name,
      partitions: t.partitions.map((p: Message) => ({
        partitionIndex: p.partitionIndex,
        errorCode: unknown.has(`${t.name}\u0000${p.partitionIndex}`)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : error,
      })),
    })),
  }
})

type Requested = { name: string; partitionIndexes: number[] }[] | null

/** One group's committed offsets as OffsetFetch answers them (-1 and "" where nothing is committed). */
function fetchOffsets(ctx: RequestContext, groupId: string, requested: Requested) {
  const store = ctx.broker.logs.offsets
  const partition = (index: number, c: { offset: bigint; metadata: string | null } | undefined) => ({
    partitionIndex: index,
    committedOffset: c ? c.offset : -1n,
    committedLeaderEpoch: -1,
    metadata: c ? (c.metadata ?? '') : '',
    errorCode: ErrorCode.NONE,
  })
  if (requested === null) {
    const byTopic = new Map<string, ReturnType<typeof partition>[]>()
    for (const e of store.fetchAll(groupId)) {
      let list = byTopic.get(e.topic)
      if (!list) byTopic.set(e.topic, (list = []))
      list.push(partition(e.partition, e.value))
    }
    return [...byTopic].map(([name, partitions]) => ({ name, partitions }))
  }
  return requested.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((i) => partition(i, store.fetch(groupId, t.name, i))),
  }))
}

/**
 * OffsetFetch (9) v0-9: one group (v0-7, all topics when null from v2) or several (v8+). Every
 * requested partition is answered. require_stable needs no wait: there are no transactional offsets.
 */
export const offsetFetchHandler = codecHandler(9, (ctx, req) => {
  if (ctx.apiVersion >= 8) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((g: Message) => ({
        groupId: g.groupId,
        topics: fetchOffsets(ctx, g.groupId, g.topics),
        errorCode: ErrorCode.NONE,
      })),
    }
  }
  return { throttleTimeMs: 0, topics: fetchOffsets(ctx, req.groupId, req.topics), errorCode: ErrorCode.NONE }
})

/** DescribeGroups (15) v0-5: an unknown group is "Dead", as Kafka 3.9 answers it. */
export const describeGroupsHandler = codecHandler(15, (ctx, req) => ({
  throttleTimeMs: 0,
  groups: (req.groups as string[]).map((id) => {
    const g: GroupDescription = ctx.broker.groups.describe(id)
    return {
      errorCode: g.error,
      groupId: g.groupId,
      groupState: g.state,
      protocolType: g.protocolType,
      protocolData: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: -2147483648,
    }
  }),
}))

/**
 * ListGroups (16) v0-5: live groups plus groups that only have committed offsets; states filter
 * (v4, case-insensitive) and types filter (v5: every group here is a "classic" group).
 */
export const listGroupsHandler = codecHandler(16, (ctx, req) => {
  const states = new Set((req.statesFilter as string[]).map((s) => s.toLowerCase()))
  const types = new Set((req.typesFilter as string[]).map((s) => s.toLowerCase()))
  const groups = ctx.broker.groups
    .list()
    .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
    .filter(() => types.size === 0 || types.has('classic'))
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    groups: groups.map((g) => ({
      groupId: g.groupId,
      protocolType: g.protocolType,
      groupState: g.state,
      groupType: 'classic',
    })),
  }
})

/** DeleteGroups (42) v0-2: only groups without members; deletes their committed offsets durably. */
export const deleteGroupsHandler = codecHandler(42, async (ctx, req) => ({
  throttleTimeMs: 0,
  results: (await ctx.broker.groups.deleteGroups(req.groupsNames)).map((r) => ({
    groupId: r.groupId,
    errorCode: r.error,
  })),
}))

let nextProducerId = BigInt(Date.now()) * 1000n

/**
 * InitProducerId (22) v0-5: a fresh producer id (epoch 0) for an idempotent producer; the log then
 * deduplicates its retries (log/producer-state.ts). A transactional id is refused (no transactions).
 * v3+ may name the current id and epoch (KIP-360); as Kafka does without a transactional id, a new
 * id is handed out, and a half-given pair is INVALID_REQUEST.
 */
export const initProducerIdHandler = codecHandler(22, (_ctx, req) => {
  const refuse = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 })
  if (req.transactionalId !== null) return refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  if ((req.producerId === -1n) !== (req.producerEpoch === -1)) return refuse(ErrorCode.INVALID_REQUEST)
  nextProducerId += 1n
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: nextProducerId, producerEpoch: 0 }
})
