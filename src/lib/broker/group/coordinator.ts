import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../handlers/errors.js'
import type { GroupOffsetStore } from '../log/types.js'

/**
 * Kafka's classic consumer-group protocol for one node (after apache/kafka GroupCoordinator):
 * Empty → PreparingRebalance → CompletingRebalance → Stable. JoinGroup and SyncGroup answers are
 * parked until the rebalance completes; members learn about a rebalance from Heartbeat (27).
 * Membership lives in memory; committed offsets and the last generation go to the offset store.
 */

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export interface GroupProtocol {
  name: string
  metadata: Buffer
}

export interface JoinGroupRequest {
  groupId: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  memberId: string
  groupInstanceId: string | null
  protocolType: string
  protocols: GroupProtocol[]
  clientId: string
  clientHost: string
  /** JoinGroup v4+: an empty member id gets MEMBER_ID_REQUIRED (79) and a fresh id (KIP-394). */
  requireKnownMemberId: boolean
}

export interface JoinGroupResponse {
  error: number
  generationId: number
  protocolName: string | null
  leader: string
  memberId: string
  /** Filled for the leader only. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]
}

export interface SyncGroupRequest {
  groupId: string
  generationId: number
  memberId: string
  assignments: { memberId: string; assignment: Buffer }[]
}

export interface SyncGroupResponse {
  error: number
  assignment: Buffer
}

export interface OffsetCommitEntry {
  topic: string
  partition: number
  offset: bigint
  metadata: string | null
}

export interface GroupDescription {
  error: number
  groupId: string
  state: GroupState
  protocolType: string
  protocolData: string
  members: {
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    metadata: Buffer
    assignment: Buffer
  }[]
}

export interface GroupCoordinatorOptions {
  offsets: GroupOffsetStore
  /** Kafka's group.initial.rebalance.delay.ms for a group going from Empty (default 0). */
  initialRebalanceDelayMs?: number
  minSessionTimeoutMs?: number
  maxSessionTimeoutMs?: number
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra?: Record<string, unknown>) => void
  /** Clock for tests. */
  now?: () => number
}

interface Member {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: GroupProtocol[]
  assignment: Buffer
  joinWaiter?: (r: JoinGroupResponse) => void
  syncWaiter?: (r: SyncGroupResponse) => void
  sessionTimer?: NodeJS.Timeout
}

interface Group {
  id: string
  state: GroupState
  generation: number
  protocolType: string | null
  protocolName: string | null
  leaderId: string | null
  members: Map<string, Member>
  /** Ids handed out with MEMBER_ID_REQUIRED, not joined yet. */
  pending: Map<string, NodeJS.Timeout>
  awaitingSync: Set<string>
  joinTimer?: NodeJS.Timeout
  delayTimer?: NodeJS.Timeout
  syncTimer?: NodeJS.Timeout
}

const EMPTY = Buffer.alloc(0)

function sameProtocols(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata))
}

function copyProtocols(protocols: GroupProtocol[]): GroupProtocol[] {
  return protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }))
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>()
  private readonly offsets: GroupOffsetStore
  private readonly initialDelay: number
  private readonly minSession: number
  private readonly maxSession: number
  private readonly log: NonNullable<GroupCoordinatorOptions['log']>
  private closed = false

  constructor(options: GroupCoordinatorOptions) {
    this.offsets = options.offsets
    this.initialDelay = options.initialRebalanceDelayMs ?? 0
    this.minSession = options.minSessionTimeoutMs ?? 100
    this.maxSession = options.maxSessionTimeoutMs ?? 30 * 60_000
    this.log = options.log ?? (() => {})
  }

  // ---- JoinGroup -------------------------------------------------------------------------------

  join(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    const fail = (error: number, memberId = req.memberId): Promise<JoinGroupResponse> =>
      Promise.resolve({ error, generationId: -1, protocolName: null, leader: '', memberId, members: [] })
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    if (!req.groupId) return fail(ErrorCode.INVALID_GROUP_ID)
    if (req.sessionTimeoutMs < this.minSession || req.sessionTimeoutMs > this.maxSession) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT)
    }
    if (!req.protocolType || req.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    const group = this.groupFor(req.groupId)
    if (group.members.size > 0 && !this.supportsProtocols(group, req)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    if (req.memberId === '') {
      const memberId = `${req.clientId || 'member'}-${randomUUID()}`
      if (req.requireKnownMemberId) {
        group.pending.set(
          memberId,
          setTimeout(() => {
            group.pending.delete(memberId)
            this.tryCompleteJoin(group)
          }, req.sessionTimeoutMs),
        )
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId)
      }
      return this.addMemberAndRebalance(group, memberId, req)
    }
    const pendingTimer = group.pending.get(req.memberId)
    if (pendingTimer) {
      clearTimeout(pendingTimer)
      group.pending.delete(req.memberId)
      return this.addMemberAndRebalance(group, req.memberId, req)
    }
    const member = group.members.get(req.memberId)
    if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID)
    return new Promise((resolve) => {
      const unchanged = sameProtocols(member.protocols, req.protocols)
      member.sessionTimeoutMs = req.sessionTimeoutMs
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
      member.clientId = req.clientId
      member.clientHost = req.clientHost
      this.touch(group, member)
      switch (group.state) {
        case 'PreparingRebalance':
          this.updateMember(group, member, req, resolve)
          this.tryCompleteJoin(group)
          return
        case 'CompletingRebalance':
          if (unchanged) {
            // A resent join (lost response): answer with the current generation.
            resolve(this.joinResponse(group, member))
            return
          }
          this.updateMember(group, member, req, resolve)
          this.prepareRebalance(group, `member ${member.memberId} changed its protocols`)
          return
        case 'Stable':
          if (member.memberId === group.leaderId || !unchanged) {
            this.updateMember(group, member, req, resolve)
            this.prepareRebalance(group, `member ${member.memberId} rejoined`)
          } else {
            resolve(this.joinResponse(group, member))
          }
          return
        default:
          // Empty or Dead cannot have members.
          resolve({
            error: ErrorCode.UNKNOWN_MEMBER_ID,
            generationId: -1,
            protocolName: null,
            leader: '',
            memberId: req.memberId,
            members: [],
          })
      }
    })
  }

  private supportsProtocols(group: Group, req: JoinGroupRequest): boolean {
    if (group.protocolType !== null && group.protocolType !== req.protocolType) return false
    const candidates = this.candidateProtocols(group, req.memberId)
    return req.protocols.some((p) => candidates === null || candidates.has(p.name))
  }

  /** Protocol names every member (except `exclude`) supports; null if there is no other member. */
  private candidateProtocols(group: Group, exclude?: string): Set<string> | null {
    let set: Set<string> | null = null
    for (const m of group.members.values()) {
      if (m.memberId === exclude) continue
      const names = new Set<string>(m.protocols.map((p) => p.name))
      if (set === null) set = names
      else for (const n of [...set]) if (!names.has(n)) set.delete(n)
    }
    return set
  }

  private addMemberAndRebalance(
    group: Group,
    memberId: string,
    req: JoinGroupRequest,
  ): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      const member: Member = {
        memberId,
        groupInstanceId: req.groupInstanceId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocolType: req.protocolType,
        protocols: copyProtocols(req.protocols),
        assignment: EMPTY,
        joinWaiter: resolve,
      }
      group.members.set(memberId, member)
      if (group.protocolType === null) group.protocolType = req.protocolType
      this.touch(group, member)
      if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group)
      else this.prepareRebalance(group, `member ${memberId} joined`)
    })
  }

  private updateMember(
    group: Group,
    member: Member,
    req: JoinGroupRequest,
    resolve: (r: JoinGroupResponse) => void,
  ): void {
    member.protocols = copyProtocols(req.protocols)
    if (member.joinWaiter) member.joinWaiter(this.errorJoin(member, ErrorCode.REBALANCE_IN_PROGRESS))
    member.joinWaiter = resolve
    if (group.protocolType === null) group.protocolType = req.protocolType
  }

  private errorJoin(member: Member, error: number): JoinGroupResponse {
    return { error, generationId: -1, protocolName: null, leader: '', memberId: member.memberId, members: [] }
  }

  private joinResponse(group: Group, member: Member): JoinGroupResponse {
    const isLeader = member.memberId === group.leaderId
    return {
      error: ErrorCode.NONE,
      generationId: group.generation,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    }
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        if (m.syncWaiter) {
          m.syncWaiter({ error: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY })
          m.syncWaiter = undefined
        }
      }
    }
    clearTimeout(group.syncTimer)
    group.awaitingSync.clear()
    const wasEmpty = group.state === 'Empty'
    group.state = 'PreparingRebalance'
    this.log('debug', `group ${group.id} rebalancing: ${reason}`, { generation: group.generation })
    clearTimeout(group.joinTimer)
    let timeout = 0
    for (const m of group.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs)
    group.joinTimer = setTimeout(() => this.onJoinTimeout(group), timeout)
    if (wasEmpty && this.initialDelay > 0) {
      clearTimeout(group.delayTimer)
      group.delayTimer = setTimeout(() => {
        group.delayTimer = undefined
        this.tryCompleteJoin(group)
      }, this.initialDelay)
    }
    this.tryCompleteJoin(group)
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.delayTimer) return
    if (group.pending.size > 0) return
    for (const m of group.members.values()) if (!m.joinWaiter) return
    this.completeJoin(group)
  }

  private onJoinTimeout(group: Group): void {
    if (group.state !== 'PreparingRebalance') return
    for (const timer of group.pending.values()) clearTimeout(timer)
    group.pending.clear()
    clearTimeout(group.delayTimer)
    group.delayTimer = undefined
    this.completeJoin(group)
  }

  private completeJoin(group: Group): void {
    clearTimeout(group.joinTimer)
    clearTimeout(group.delayTimer)
    group.delayTimer = undefined
    for (const m of [...group.members.values()]) {
      if (!m.joinWaiter) this.removeMember(group, m, 'did not rejoin in time')
    }
    group.generation += 1
    const generation = group.generation
    const replies: [(r: JoinGroupResponse) => void, JoinGroupResponse][] = []
    if (group.members.size === 0) {
      group.state = 'Empty'
      group.protocolName = null
      group.protocolType = null
      group.leaderId = null
    } else {
      group.protocolName = this.selectProtocol(group)
      if (!group.leaderId || !group.members.has(group.leaderId)) {
        group.leaderId = group.members.keys().next().value ?? null
      }
      group.state = 'CompletingRebalance'
      let syncTimeout = 0
      for (const m of group.members.values()) {
        m.assignment = EMPTY
        group.awaitingSync.add(m.memberId)
        syncTimeout = Math.max(syncTimeout, m.rebalanceTimeoutMs)
        replies.push([m.joinWaiter!, this.joinResponse(group, m)])
        m.joinWaiter = undefined
        this.touch(group, m)
      }
      group.syncTimer = setTimeout(() => this.onSyncTimeout(group, generation), syncTimeout)
    }
    this.log('debug', `group ${group.id} generation ${generation}`, {
      members: group.members.size,
      leader: group.leaderId,
      protocol: group.protocolName,
    })
    // Persist the generation before anyone can use it, so it never goes backwards after a restart.
    this.offsets.setGeneration(group.id, generation).then(
      () => {
        for (const [reply, response] of replies) reply(response)
      },
      (error: unknown) => {
        this.log('error', `could not persist generation of group ${group.id}: ${String(error)}`)
        for (const [reply, response] of replies) {
          reply({ ...response, error: ErrorCode.COORDINATOR_NOT_AVAILABLE })
        }
      },
    )
  }

  private selectProtocol(group: Group): string | null {
    const candidates = this.candidateProtocols(group)
    if (!candidates || candidates.size === 0) return null
    const votes = new Map<string, number>()
    for (const m of group.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1)
    }
    let best: string | null = null
    let bestVotes = -1
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name
        bestVotes = n
      }
    }
    return best
  }

  private onSyncTimeout(group: Group, generation: number): void {
    if (group.state !== 'CompletingRebalance' || group.generation !== generation) return
    for (const id of group.awaitingSync) {
      const m = group.members.get(id)
      if (m) this.removeMember(group, m, 'did not sync in time')
    }
    this.prepareRebalance(group, 'members did not sync in time')
  }

  // ---- SyncGroup -------------------------------------------------------------------------------

  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const fail = (error: number) => Promise.resolve({ error, assignment: EMPTY })
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    const group = this.groups.get(req.groupId)
    if (!group) return fail(ErrorCode.UNKNOWN_MEMBER_ID)
    const member = group.members.get(req.memberId)
    if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID)
    if (req.generationId !== group.generation) return fail(ErrorCode.ILLEGAL_GENERATION)
    switch (group.state) {
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS)
      case 'Stable':
        this.touch(group, member)
        return Promise.resolve({ error: 0, assignment: member.assignment })
      case 'CompletingRebalance':
        return new Promise((resolve) => {
          if (member.syncWaiter)
            member.syncWaiter({ error: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY })
          member.syncWaiter = resolve
          group.awaitingSync.delete(member.memberId)
          this.touch(group, member)
          if (member.memberId !== group.leaderId) return
          const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]))
          clearTimeout(group.syncTimer)
          group.awaitingSync.clear()
          group.state = 'Stable'
          for (const m of group.members.values()) {
            const a = given.get(m.memberId)
            m.assignment = a ? Buffer.from(a) : EMPTY
            if (m.syncWaiter) {
              m.syncWaiter({ error: 0, assignment: m.assignment })
              m.syncWaiter = undefined
            }
          }
          this.log('debug', `group ${group.id} stable at generation ${group.generation}`)
        })
      default:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID)
    }
  }

  // ---- Heartbeat / LeaveGroup ------------------------------------------------------------------

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    const group = this.groups.get(groupId)
    if (!group || group.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID
    const member = group.members.get(memberId)
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID
    if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION
    this.touch(group, member)
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  leave(
    groupId: string,
    memberIds: string[],
  ): { error: number; members: { memberId: string; error: number }[] } {
    const group = this.groups.get(groupId)
    if (!group) {
      // As Kafka: no top-level error, each member is unknown (v0-2 report the member's error).
      return {
        error: ErrorCode.NONE,
        members: memberIds.map((memberId) => ({ memberId, error: ErrorCode.UNKNOWN_MEMBER_ID })),
      }
    }
    const results: { memberId: string; error: number }[] = []
    let removed = false
    let droppedPending = false
    for (const id of memberIds) {
      const pending = group.pending.get(id)
      const member = group.members.get(id)
      if (pending) {
        clearTimeout(pending)
        group.pending.delete(id)
        droppedPending = true
        results.push({ memberId: id, error: 0 })
      } else if (member) {
        this.removeMember(group, member, 'left the group')
        removed = true
        results.push({ memberId: id, error: 0 })
      } else results.push({ memberId: id, error: ErrorCode.UNKNOWN_MEMBER_ID })
    }
    if (removed) this.afterRemoval(group, 'a member left')
    else if (droppedPending) this.tryCompleteJoin(group)
    return { error: 0, members: results }
  }

  private afterRemoval(group: Group, reason: string): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance')
      this.prepareRebalance(group, reason)
    else if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group)
  }

  private removeMember(group: Group, member: Member, reason: string): void {
    clearTimeout(member.sessionTimer)
    group.members.delete(member.memberId)
    group.awaitingSync.delete(member.memberId)
    if (group.leaderId === member.memberId) group.leaderId = null
    member.joinWaiter?.(this.errorJoin(member, ErrorCode.UNKNOWN_MEMBER_ID))
    member.syncWaiter?.({ error: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY })
    member.joinWaiter = undefined
    member.syncWaiter = undefined
    this.log('debug', `member ${member.memberId} removed from group ${group.id}: ${reason}`)
  }

  /** Any request from a member counts as a heartbeat; the session timer restarts. */
  private touch(group: Group, member: Member): void {
    clearTimeout(member.sessionTimer)
    if (this.closed) return
    member.sessionTimer = setTimeout(() => this.onSessionExpired(group, member), member.sessionTimeoutMs)
  }

  private onSessionExpired(group: Group, member: Member): void {
    if (group.members.get(member.memberId) !== member) return
    // A member waiting on a parked join or sync is alive (Kafka's hasSatisfiedHeartbeat).
    if (member.joinWaiter || member.syncWaiter) {
      this.touch(group, member)
      return
    }
    this.removeMember(group, member, 'session timed out')
    this.afterRemoval(group, `member ${member.memberId} session timed out`)
  }

  // ---- Offsets ---------------------------------------------------------------------------------

  /** Kafka's commit rules; returns the error for every partition of the request (0 = stored). */
  async commitOffsets(
    groupId: string,
    generationId: number,
    memberId: string,
    entries: OffsetCommitEntry[],
  ): Promise<number> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (!groupId) return ErrorCode.INVALID_GROUP_ID
    const group = this.groups.get(groupId)
    if (!group || group.state === 'Empty') {
      if (generationId >= 0) return group ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.ILLEGAL_GENERATION
    } else {
      if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS
      const member = group.members.get(memberId)
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID
      if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION
      this.touch(group, member)
    }
    const commitTimestamp = Date.now()
    await this.offsets.commitMany(
      groupId,
      entries.map((e) => ({
        topic: e.topic,
        partition: e.partition,
        value: { offset: e.offset, metadata: e.metadata, commitTimestamp },
      })),
    )
    return ErrorCode.NONE
  }

  // ---- Describe / list -------------------------------------------------------------------------

  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId)
    if (!group) {
      const known = this.offsets.groups().includes(groupId)
      return {
        error: 0,
        groupId,
        state: known ? 'Empty' : 'Dead',
        protocolType: known ? 'consumer' : '',
        protocolData: '',
        members: [],
      }
    }
    return {
      error: 0,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? (group.state === 'Empty' ? 'consumer' : ''),
      protocolData: group.protocolName ?? '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    }
  }

  list(): { groupId: string; protocolType: string; state: GroupState }[] {
    const out = new Map<string, { groupId: string; protocolType: string; state: GroupState }>()
    for (const id of this.offsets.groups())
      out.set(id, { groupId: id, protocolType: 'consumer', state: 'Empty' })
    for (const g of this.groups.values()) {
      if (g.state === 'Dead') continue
      if (g.state === 'Empty' && !out.has(g.id)) continue
      out.set(g.id, { groupId: g.id, protocolType: g.protocolType ?? 'consumer', state: g.state })
    }
    return [...out.values()]
  }

  /** Ends every timer and answers every parked request (COORDINATOR_NOT_AVAILABLE). */
  close(): void {
    this.closed = true
    for (const group of this.groups.values()) {
      clearTimeout(group.joinTimer)
      clearTimeout(group.syncTimer)
      clearTimeout(group.delayTimer)
      for (const t of group.pending.values()) clearTimeout(t)
      for (const m of group.members.values()) {
        clearTimeout(m.sessionTimer)
        m.joinWaiter?.(this.errorJoin(m, ErrorCode.COORDINATOR_NOT_AVAILABLE))
        m.syncWaiter?.({ error: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: EMPTY })
        m.joinWaiter = undefined
        m.syncWaiter = undefined
      }
      group.state = 'Dead'
    }
  }

  private groupFor(groupId: string): Group {
    let group = this.groups.get(groupId)
    if (!group) {
      group = {
        id: groupId,
        state: 'Empty',
        generation: this.offsets.lastGeneration(groupId),
        protocolType: null,
        protocolName: null,
        leaderId: null,
        members: new Map(),
        pending: new Map(),
        awaitingSync: new Set(),
      }
      this.groups.set(groupId, group)
    }
    return group
  }
}
