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
  /** JoinGroup v9+: a static leader rejoining a stable group gets the members and skipAssignment. */
  supportsSkipAssignment?: boolean
  /** JoinGroup v8+: why the client joins (logged). */
  reason?: string | null
}

export interface JoinGroupResponse {
  error: number
  generationId: number
  protocolName: string | null
  leader: string
  memberId: string
  /** Filled for the leader only. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]
  /** v9+: the leader must not compute a new assignment (a static leader replaced in a stable group). */
  skipAssignment?: boolean
}

export interface SyncGroupRequest {
  groupId: string
  generationId: number
  memberId: string
  assignments: { memberId: string; assignment: Buffer }[]
  /** v3+. */
  groupInstanceId?: string | null
  /** v5+: checked against the group's (INCONSISTENT_GROUP_PROTOCOL when both are set and differ). */
  protocolType?: string | null
  protocolName?: string | null
}

/** One member named in a LeaveGroup: by member id, by group instance id (v3+), or both. */
export interface LeavingMember {
  memberId: string
  groupInstanceId?: string | null
  reason?: string | null
}

/** OffsetCommit's optional facts beyond generation and member id. */
export interface OffsetCommitOptions {
  groupInstanceId?: string | null
  /** The request's version: v9+ answers GROUP_ID_NOT_FOUND for an unknown group (else ILLEGAL_GENERATION). */
  apiVersion?: number
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
  /** group.instance.id -> member id of the static members. */
  staticMembers: Map<string, string>
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
    if (req.reason)
      this.log('debug', `join of group ${req.groupId} by ${req.memberId || 'a new member'}: ${req.reason}`)
    if (group.members.size > 0 && !this.supportsProtocols(group, req)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    if (req.memberId === '') {
      const memberId = `${req.groupInstanceId ?? (req.clientId || 'member')}-${randomUUID()}`
      if (req.groupInstanceId !== null) {
        // A static member: no MEMBER_ID_REQUIRED round trip; a known instance id replaces its member.
        const existing = group.staticMembers.get(req.groupInstanceId)
        if (existing !== undefined) return this.replaceStaticMember(group, existing, memberId, req)
        return this.addMemberAndRebalance(group, memberId, req)
      }
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
    // Kafka's isStaticMemberFenced: the instance id belongs to another member id.
    const owner = req.groupInstanceId === null ? undefined : group.staticMembers.get(req.groupInstanceId)
    if (owner !== undefined && owner !== req.memberId) return fail(ErrorCode.FENCED_INSTANCE_ID)
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
      if (req.groupInstanceId !== null) group.staticMembers.set(req.groupInstanceId, memberId)
      if (group.protocolType === null) group.protocolType = req.protocolType
      this.touch(group, member)
      if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group)
      else this.prepareRebalance(group, `member ${memberId} joined`)
    })
  }

  /**
   * A static member rejoins with a new member id (a restarted client): the new id takes over the old
   * member and its assignment; the old id is fenced. In a stable group whose protocol choice does
   * not change this completes without a rebalance, as Kafka's updateStaticMemberThenRebalanceOrCompleteJoin.
   */
  private replaceStaticMember(
    group: Group,
    oldMemberId: string,
    newMemberId: string,
    req: JoinGroupRequest,
  ): Promise<JoinGroupResponse> {
    const old = group.members.get(oldMemberId)!
    const previousLeader = group.leaderId
    clearTimeout(old.sessionTimer)
    old.joinWaiter?.(this.errorJoin(old, ErrorCode.FENCED_INSTANCE_ID))
    old.syncWaiter?.({ error: ErrorCode.FENCED_INSTANCE_ID, assignment: EMPTY })
    old.joinWaiter = undefined
    old.syncWaiter = undefined
    group.members.delete(oldMemberId)
    const member: Member = { ...old, memberId: newMemberId, sessionTimer: undefined }
    member.sessionTimeoutMs = req.sessionTimeoutMs
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    group.members.set(newMemberId, member)
    group.staticMembers.set(req.groupInstanceId!, newMemberId)
    if (group.awaitingSync.delete(oldMemberId)) group.awaitingSync.add(newMemberId)
    if (group.leaderId === oldMemberId) group.leaderId = newMemberId
    this.log('debug', `static member ${req.groupInstanceId} of group ${group.id} replaced ${oldMemberId}`, {
      memberId: newMemberId,
    })
    return new Promise((resolve) => {
      this.updateMember(group, member, req, resolve)
      this.touch(group, member)
      switch (group.state) {
        case 'Stable': {
          if (this.selectProtocol(group) === group.protocolName) {
            member.joinWaiter = undefined
            const isLeader = group.leaderId === newMemberId
            if (req.supportsSkipAssignment) {
              const r = this.joinResponse(group, member)
              resolve({ ...r, members: isLeader ? r.members : [], skipAssignment: isLeader })
            } else {
              // Before v9 the old leader id is returned, so a restarted leader does not reassign.
              resolve({ ...this.joinResponse(group, member), leader: previousLeader ?? '', members: [] })
            }
            return
          }
          this.prepareRebalance(group, `static member ${req.groupInstanceId} rejoined with other protocols`)
          return
        }
        case 'CompletingRebalance':
          this.prepareRebalance(group, `static member ${req.groupInstanceId} rejoined`)
          return
        default:
          this.tryCompleteJoin(group)
      }
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
    const memberError = this.memberError(group, req.memberId, req.groupInstanceId)
    if (memberError !== ErrorCode.NONE) return fail(memberError)
    const member = group.members.get(req.memberId)!
    if (req.generationId !== group.generation) return fail(ErrorCode.ILLEGAL_GENERATION)
    const inconsistent = (given: string | null | undefined, actual: string | null) =>
      given !== null && given !== undefined && actual !== null && given !== actual
    if (
      inconsistent(req.protocolType, group.protocolType) ||
      inconsistent(req.protocolName, group.protocolName)
    )
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
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

  /** Kafka's ClassicGroup.validateMember: the instance id must map to this member id. */
  private memberError(group: Group, memberId: string, groupInstanceId: string | null | undefined): number {
    if (groupInstanceId !== null && groupInstanceId !== undefined) {
      const owner = group.staticMembers.get(groupInstanceId)
      if (owner === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (owner !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID
  }

  /** The group's protocol type and chosen protocol (SyncGroup v5 echoes them). */
  protocolOf(groupId: string): { protocolType: string | null; protocolName: string | null } {
    const g = this.groups.get(groupId)
    return { protocolType: g?.protocolType ?? null, protocolName: g?.protocolName ?? null }
  }

  // ---- Heartbeat / LeaveGroup ------------------------------------------------------------------

  heartbeat(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null = null,
  ): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    const group = this.groups.get(groupId)
    if (!group || group.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID
    const memberError = this.memberError(group, memberId, groupInstanceId)
    if (memberError !== ErrorCode.NONE) return memberError
    const member = group.members.get(memberId)!
    if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION
    this.touch(group, member)
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  leave(
    groupId: string,
    leaving: (string | LeavingMember)[],
  ): {
    error: number
    /** groupInstanceId is set only for members named by one. */
    members: { memberId: string; groupInstanceId?: string; error: number }[]
  } {
    const members = leaving.map((m) =>
      typeof m === 'string'
        ? { memberId: m, groupInstanceId: null, reason: null }
        : { memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, reason: m.reason ?? null },
    )
    const result = (memberId: string, groupInstanceId: string | null, error: number) =>
      groupInstanceId === null ? { memberId, error } : { memberId, groupInstanceId, error }
    const group = this.groups.get(groupId)
    if (!group) {
      // As Kafka: no top-level error, each member is unknown (v0-2 report the member's error).
      return {
        error: ErrorCode.NONE,
        members: members.map((m) => result(m.memberId, m.groupInstanceId, ErrorCode.UNKNOWN_MEMBER_ID)),
      }
    }
    const results: { memberId: string; groupInstanceId?: string; error: number }[] = []
    let removed = false
    let droppedPending = false
    for (const m of members) {
      const { groupInstanceId } = m
      let id = m.memberId
      if (groupInstanceId !== null) {
        // By instance id (v3+): the member id may be left empty; a different one is fenced.
        const owner = group.staticMembers.get(groupInstanceId)
        if (owner === undefined || (id !== '' && id !== owner)) {
          results.push(
            result(
              id,
              groupInstanceId,
              owner === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.FENCED_INSTANCE_ID,
            ),
          )
          continue
        }
        id = owner
      }
      const pending = group.pending.get(id)
      const member = group.members.get(id)
      if (m.reason) this.log('debug', `member ${id} leaves group ${group.id}: ${m.reason}`)
      if (pending) {
        clearTimeout(pending)
        group.pending.delete(id)
        droppedPending = true
        results.push(result(m.memberId, groupInstanceId, 0))
      } else if (member) {
        this.removeMember(group, member, 'left the group')
        removed = true
        results.push(result(m.memberId, groupInstanceId, 0))
      } else results.push(result(m.memberId, groupInstanceId, ErrorCode.UNKNOWN_MEMBER_ID))
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
    if (
      member.groupInstanceId !== null &&
      group.staticMembers.get(member.groupInstanceId) === member.memberId
    )
      group.staticMembers.delete(member.groupInstanceId)
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
    options: OffsetCommitOptions = {},
  ): Promise<number> {
    const error = this.validateCommit(groupId, generationId, memberId, options)
    if (error !== ErrorCode.NONE) return error
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

  /** Kafka 3.9's OffsetMetadataManager.validateOffsetCommit + ClassicGroup.validateOffsetCommit. */
  private validateCommit(
    groupId: string,
    generationId: number,
    memberId: string,
    options: OffsetCommitOptions,
  ): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (!groupId) return ErrorCode.INVALID_GROUP_ID
    const group = this.groups.get(groupId)
    if (!group) {
      // A group that only has committed offsets is an empty group to Kafka.
      if (generationId < 0) return ErrorCode.NONE
      if (!this.offsets.groups().includes(groupId))
        return (options.apiVersion ?? 0) >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION
      return ErrorCode.UNKNOWN_MEMBER_ID
    }
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (generationId < 0 && group.state === 'Empty') return ErrorCode.NONE
    const instanceId = options.groupInstanceId ?? null
    if (generationId >= 0 || memberId !== '' || instanceId !== null) {
      const memberError = this.memberError(group, memberId, instanceId)
      if (memberError !== ErrorCode.NONE) return memberError
      if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION
    } else if (group.state !== 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS
    const member = group.members.get(memberId)
    if (member) this.touch(group, member)
    return ErrorCode.NONE
  }

  /**
   * DeleteGroups: only a group without members (Empty, or known only by its committed offsets);
   * NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND for an unknown one. Its offsets and generation
   * are deleted durably before the answer.
   */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; error: number }[]> {
    const results: { groupId: string; error: number }[] = []
    for (const groupId of groupIds) {
      if (this.closed) {
        results.push({ groupId, error: ErrorCode.COORDINATOR_NOT_AVAILABLE })
        continue
      }
      const group = this.groups.get(groupId)
      const stored = this.offsets.groups().includes(groupId)
      if ((!group || group.state === 'Dead') && !stored) {
        results.push({ groupId, error: ErrorCode.GROUP_ID_NOT_FOUND })
        continue
      }
      if (group && group.state !== 'Empty' && group.state !== 'Dead') {
        results.push({ groupId, error: ErrorCode.NON_EMPTY_GROUP })
        continue
      }
      try {
        await this.offsets.deleteGroup(groupId)
        const now = this.groups.get(groupId)
        // A member may have joined while the deletion was written; such a group stays.
        if (now && now.members.size === 0 && now.pending.size === 0) this.groups.delete(groupId)
        this.log('debug', `group ${groupId} deleted`)
        results.push({ groupId, error: ErrorCode.NONE })
      } catch (error) {
        this.log('error', `deleting group ${groupId} failed: ${String(error)}`)
        results.push({ groupId, error: ErrorCode.KAFKA_STORAGE_ERROR })
      }
    }
    return results
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
        staticMembers: new Map(),
        pending: new Map(),
        awaitingSync: new Set(),
      }
      this.groups.set(groupId, group)
    }
    return group
  }
}
