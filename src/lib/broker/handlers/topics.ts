import { Writer } from '../../protocol/primitives.js'
import { isValidTopicName, type TopicConfig } from '../log/types.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

const CONFIG_KEYS: Record<string, keyof TopicConfig> = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.bytes': 'segmentBytes',
}

/** Maps Kafka topic configs to TopicConfig; unknown keys are accepted and ignored. */
export function topicConfigFromKafka(
  configs: { name: string; value: string | null }[],
): Partial<TopicConfig> | string {
  const out: Partial<TopicConfig> = {}
  for (const c of configs) {
    const key = CONFIG_KEYS[c.name]
    if (!key || c.value === null) continue
    const n = Number(c.value)
    if (!Number.isSafeInteger(n) || n < -1 || (key === 'segmentBytes' && n < 1024)) {
      return `invalid value ${JSON.stringify(c.value)} for ${c.name}`
    }
    out[key] = n
  }
  return out
}

/** CreateTopics (19) v0-4. Replication factor is clamped to 1 (single node), so configs meant for a cluster work. */
export const createTopicsHandler: ApiHandler = {
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const topics = r.array((r) => ({
      name: r.string(),
      numPartitions: r.int32(),
      replicationFactor: r.int16(),
      assignments: r.array((r) => ({ index: r.int32(), brokers: r.array((r) => r.int32()) })),
      configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
    }))
    r.int32() // timeout_ms
    const validateOnly = v >= 1 ? r.bool() : false
    const { broker } = ctx
    const seen = new Set<string>()
    const results: { name: string; error: number; message: string | null }[] = []
    for (const t of topics) {
      const fail = (error: number, message: string) => results.push({ name: t.name, error, message })
      if (seen.has(t.name)) {
        fail(ErrorCode.INVALID_REQUEST, `topic ${t.name} listed twice`)
        continue
      }
      seen.add(t.name)
      if (!isValidTopicName(t.name)) {
        fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name "${t.name}"`)
        continue
      }
      if (broker.logs.topic(t.name)) {
        fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${t.name}" already exists`)
        continue
      }
      let partitions = t.numPartitions
      if (t.assignments.length > 0) partitions = t.assignments.length
      else if (partitions === -1) partitions = broker.defaultPartitions
      if (partitions <= 0) {
        fail(ErrorCode.INVALID_PARTITIONS, `invalid partition count ${t.numPartitions}`)
        continue
      }
      if (t.replicationFactor === 0 || t.replicationFactor < -1) {
        fail(ErrorCode.INVALID_REPLICATION_FACTOR, `invalid replication factor ${t.replicationFactor}`)
        continue
      }
      const config = topicConfigFromKafka(t.configs)
      if (typeof config === 'string') {
        fail(ErrorCode.INVALID_CONFIG, config)
        continue
      }
      if (validateOnly) {
        fail(ErrorCode.NONE, '')
        continue
      }
      try {
        await broker.logs.createTopic(t.name, partitions, { ...broker.defaultTopicConfig, ...config })
        broker.log('info', `created topic ${t.name}`, { partitions })
        results.push({ name: t.name, error: 0, message: null })
      } catch (error) {
        fail(kafkaErrorCode(error), error instanceof Error ? error.message : String(error))
      }
    }
    const w = new Writer(64 + results.length * 64)
    if (v >= 2) w.int32(0)
    w.array(results, (w, t) => {
      w.string(t.name).int16(t.error)
      if (v >= 1) w.nullableString(t.error ? t.message : null)
    })
    return w
  },
}

/** DeleteTopics (20) v0-3: deletes the log and the topic's committed offsets. */
export const deleteTopicsHandler: ApiHandler = {
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const names = r.array((r) => r.string())
    r.int32() // timeout_ms
    const { broker } = ctx
    const results: { name: string; error: number }[] = []
    for (const name of names) {
      if (!broker.logs.topic(name)) {
        results.push({ name, error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
        continue
      }
      try {
        await broker.logs.deleteTopic(name)
        await broker.logs.offsets.deleteTopic(name)
        broker.log('info', `deleted topic ${name}`)
        results.push({ name, error: 0 })
      } catch (error) {
        results.push({ name, error: kafkaErrorCode(error) })
      }
    }
    const w = new Writer(64 + results.length * 32)
    if (v >= 1) w.int32(0)
    w.array(results, (w, t) => w.string(t.name).int16(t.error))
    return w
  },
}
