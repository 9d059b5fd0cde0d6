import type { Consumer, Kafka } from 'kafkajs'
import { ExitCode, GameError, unreachableError } from '../errors.js'

/**
 * The stream's consumer-group membership (join, sync, heartbeats, offset commits) and the topic
 * facts it needs at start. kafkajs keeps the group; its partitions stay paused: the records come
 * through the lean fetcher (no object per record). The job gets one of these through `deps`.
 */
export interface GroupEvents {
  /** A rebalance began: no flush may start until the next assignment (it could publish a moving partition). */
  onRevoking(): void
  /** The new assignment (this member's partitions of the topic; may be empty). */
  onAssigned(partitions: number[]): void
  /** kafkajs crashed; `restart` when it rejoins by itself. */
  onCrash(error: unknown, restart: boolean): void
}

export interface TopicOffsets {
  partition: number
  low: bigint
  high: bigint
}

export interface GroupMembership {
  /** The topic's partitions with their log start and end (TOPIC_NOT_FOUND when it does not exist). */
  topicOffsets(): Promise<TopicOffsets[]>
  /** Connects, subscribes and joins; the events arrive through `events`. */
  join(events: GroupEvents): Promise<void>
  /** Pauses the topic (kafkajs never fetches it); never throws. */
  pauseAll(): void
  /** Commits the lake's offsets to the group (informational: the lake is the truth). */
  commitOffsets(offsets: Record<string, string>): Promise<void>
  /** The group's committed offsets (>= 0) for these partitions. */
  committedOffsets(partitions: readonly number[]): Promise<Map<number, number>>
  /** Leaves the group (a LeaveGroup: the partitions move at once, not after the session timeout). */
  leave(): Promise<void>
}

/** Kafka did not answer: exit 4 with what to do. */
export function kafkaUnreachable(brokers: readonly string[] | undefined, cause: unknown): GameError {
  return unreachableError(
    'Kafka',
    (brokers ?? []).join(',') || 'the configured brokers',
    'Start the stack with `game up`, or set --brokers / GAME_BROKERS.',
    cause,
  )
}

export interface KafkaMembershipOptions {
  topic: string
  group: string
  /** For error messages only (the client already has them). */
  brokers: readonly string[]
  fromBeginning: boolean
  sessionTimeoutMs: number
}

/** The membership through a kafkajs client. */
export function kafkaMembership(kafka: Kafka, options: KafkaMembershipOptions): GroupMembership {
  const { topic, group, brokers } = options
  let consumer: Consumer | undefined
  return {
    async topicOffsets() {
      const admin = kafka.admin()
      try {
        await admin.connect()
      } catch (error) {
        await admin.disconnect().catch(() => undefined)
        throw kafkaUnreachable(brokers, error)
      }
      try {
        const topics = await admin.listTopics()
        if (!topics.includes(topic)) {
          throw new GameError('TOPIC_NOT_FOUND', `Topic "${topic}" does not exist`, {
            exitCode: ExitCode.failure,
            hint: 'Start the stack with `game up` (it creates the topic), or pass --topic.',
          })
        }
        const offsets = await admin.fetchTopicOffsets(topic)
        return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
      } finally {
        await admin.disconnect()
      }
    },

    async join(events) {
      const c = kafka.consumer({
        groupId: group,
        allowAutoTopicCreation: false,
        retry: { retries: 5 },
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: Math.max(100, Math.min(3000, Math.floor(options.sessionTimeoutMs / 3))),
        // With every partition paused, kafkajs sleeps this long between heartbeat checks, and
        // disconnect() waits for that sleep to end: short, so stopping is quick (20 cheap wakeups/s).
        maxWaitTimeInMs: 50,
      })
      consumer = c
      c.on(c.events.REBALANCING, () => events.onRevoking())
      c.on(c.events.GROUP_JOIN, (e) => {
        const parts = e.payload.memberAssignment[topic] ?? []
        if (parts.length > 0) c.pause([{ topic, partitions: parts }])
        events.onAssigned(parts)
      })
      c.on(c.events.CRASH, (e) => events.onCrash(e.payload.error, e.payload.restart))
      try {
        await c.connect()
      } catch (error) {
        throw kafkaUnreachable(brokers, error)
      }
      await c.subscribe({ topic, fromBeginning: options.fromBeginning })
      await c.run({ autoCommit: false, eachBatch: async () => undefined })
      // kafkajs only keeps the group: no partition of the topic is ever fetched by it.
      c.pause([{ topic }])
    },

    pauseAll() {
      try {
        consumer?.pause([{ topic }])
      } catch {
        // kafkajs crashed (e.g. Kafka went away) and dropped its group: nothing left to pause.
      }
    },

    async commitOffsets(offsets) {
      if (!consumer) return
      await consumer.commitOffsets(
        Object.entries(offsets).map(([partition, offset]) => ({
          topic,
          partition: Number(partition),
          offset,
        })),
      )
    },

    async committedOffsets(partitions) {
      const out = new Map<number, number>()
      const admin = kafka.admin()
      try {
        await admin.connect()
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
        for (const { partition, offset } of committed?.partitions ?? []) {
          if (partitions.includes(partition) && Number(offset) >= 0) out.set(partition, Number(offset))
        }
      } finally {
        await admin.disconnect().catch(() => undefined)
      }
      return out
    },

    async leave() {
      const c = consumer
      consumer = undefined
      await c?.disconnect()
    },
  }
}
