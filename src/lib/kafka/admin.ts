import type { Admin } from 'kafkajs'
import { createKafka } from './client.js'

export interface AdminOptions {
  brokers: string[]
  /** Connection timeout per attempt, ms (default 3000). */
  connectionTimeout?: number
  /** kafkajs retries (default 2: fail fast, callers poll). */
  retries?: number
}

async function withAdmin<T>(options: AdminOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: 'game-admin',
    connectionTimeout: options.connectionTimeout ?? 3000,
    requestTimeout: 10_000,
    retry: { retries: options.retries ?? 2, initialRetryTime: 100, maxRetryTime: 1000 },
    level: 'error',
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

export interface ClusterInfo {
  brokers: Array<{ nodeId: number; host: string; port: number }>
  controller: number | null
  clusterId: string
}

/** Fetches cluster metadata: the Kafka health probe. */
export async function describeKafkaCluster(options: AdminOptions): Promise<ClusterInfo> {
  return withAdmin(options, (admin) => admin.describeCluster())
}

export interface EnsureTopicOptions extends AdminOptions {
  topic: string
  partitions: number
  replicationFactor?: number
}

export interface EnsureTopicResult {
  topic: string
  created: boolean
  /** Partitions the topic has now (an existing topic keeps its own count). */
  partitions: number
}

/** Creates the topic if it is missing; an existing topic is left as it is. */
export async function ensureTopic(options: EnsureTopicOptions): Promise<EnsureTopicResult> {
  return withAdmin(options, async (admin) => {
    const existing = await admin.listTopics()
    let created = false
    if (!existing.includes(options.topic)) {
      try {
        created = await admin.createTopics({
          topics: [
            {
              topic: options.topic,
              numPartitions: options.partitions,
              replicationFactor: options.replicationFactor ?? 1,
            },
          ],
          waitForLeaders: true,
        })
      } catch (error) {
        // Someone else created it between listTopics and createTopics.
        if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error
      }
    }
    const meta = await admin.fetchTopicMetadata({ topics: [options.topic] })
    return { topic: options.topic, created, partitions: meta.topics[0]?.partitions.length ?? 0 }
  })
}

export interface TopicOffsets {
  name: string
  partitions: Array<{ partition: number; earliest: string; latest: string }>
}

/** Earliest/latest offsets of every (non-internal) topic, or of the given ones; sorted by name and partition. */
export async function topicOffsets(options: AdminOptions & { topics?: string[] }): Promise<TopicOffsets[]> {
  return withAdmin(options, async (admin) => {
    const names = (options.topics ?? (await admin.listTopics()))
      .filter((name) => !name.startsWith('__'))
      .sort()
    const out: TopicOffsets[] = []
    for (const name of names) {
      const offsets = await admin.fetchTopicOffsets(name)
      out.push({
        name,
        partitions: offsets
          .map((o) => ({ partition: o.partition, earliest: String(o.low), latest: String(o.high) }))
          .sort((a, b) => a.partition - b.partition),
      })
    }
    return out
  })
}
