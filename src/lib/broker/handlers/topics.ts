import type { Message } from '../../protocol/schema.js'
import { ZERO_UUID } from '../../protocol/schema.js'
import { isValidTopicName, type TopicConfig } from '../log/types.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'

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

/**
 * CreateTopics (19) v0-7 (v7 answers the new topic's id). Replication factor is clamped to 1 (single
 * node), so configs meant for a cluster work.
 */
export const createTopicsHandler = codecHandler(19, async (ctx, req) => {
  const { broker } = ctx
  const seen = new Set<string>()
  const results: Message[] = []
  for (const t of req.topics as Message[]) {
    const fail = (errorCode: number, errorMessage: string | null) =>
      results.push({
        name: t.name,
        errorCode,
        errorMessage,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      })
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
    const assignments = t.assignments as Message[]
    let partitions = t.numPartitions as number
    if (assignments.length > 0) partitions = assignments.length
    else if (partitions === -1) partitions = broker.defaultPartitions
    if (partitions <= 0) {
      fail(ErrorCode.INVALID_PARTITIONS, `invalid partition count ${t.numPartitions}`)
      continue
    }
    if (t.replicationFactor === 0 || t.replicationFactor < -1) {
      fail(ErrorCode.INVALID_REPLICATION_FACTOR, `invalid replication factor ${t.replicationFactor}`)
      continue
    }
    const config = topicConfigFromKafka(t.configs as { name: string; value: string | null }[])
    if (typeof config === 'string') {
      fail(ErrorCode.INVALID_CONFIG, config)
      continue
    }
    if (req.validateOnly) {
      results.push({
        name: t.name,
        errorCode: 0,
        errorMessage: null,
        numPartitions: partitions,
        replicationFactor: 1,
        configs: [],
      })
      continue
    }
    try {
      const info = await broker.logs.createTopic(t.name, partitions, {
        ...broker.defaultTopicConfig,
        ...config,
      })
      broker.log('info', `created topic ${t.name}`, { partitions, id: info.id })
      results.push({
        name: t.name,
        topicId: info.id,
        errorCode: 0,
        errorMessage: null,
        numPartitions: partitions,
        replicationFactor: 1,
        configs: [],
      })
    } catch (error) {
      fail(kafkaErrorCode(error), error instanceof Error ? error.message : String(error))
    }
  }
  return { throttleTimeMs: 0, topics: results }
})

/** DeleteTopics (20) v0-6 (v6 may name topics by id): deletes the log and the topic's committed offsets. */
export const deleteTopicsHandler = codecHandler(20, async (ctx, req) => {
  const v = ctx.apiVersion
  const { broker } = ctx
  const wanted: { name: string | null; topicId: string }[] =
    v >= 6
      ? (req.topics as Message[]).map((t) => ({ name: t.name, topicId: t.topicId }))
      : (req.topicNames as string[]).map((name) => ({ name, topicId: ZERO_UUID }))
  const responses: Message[] = []
  for (const want of wanted) {
    const info =
      want.name !== null
        ? broker.logs.topic(want.name)
        : broker.logs.topics().find((t) => t.id === want.topicId)
    if (!info) {
      responses.push({
        name: want.name,
        topicId: want.topicId,
        errorCode: want.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: null,
      })
      continue
    }
    try {
      await broker.logs.deleteTopic(info.name)
      await broker.logs.offsets.deleteTopic(info.name)
      broker.log('info', `deleted topic ${info.name}`, { id: info.id })
      responses.push({ name: info.name, topicId: info.id, errorCode: 0, errorMessage: null })
    } catch (error) {
      responses.push({
        name: info.name,
        topicId: info.id,
        errorCode: kafkaErrorCode(error),
        errorMessage: error instanceof Error ? error.message : String(error),
      })
    }
  }
  return { throttleTimeMs: 0, responses }
})

/** CreatePartitions (37) v0-3: grows a topic's partition count (persisted); never shrinks it. */
export const createPartitionsHandler = codecHandler(37, async (ctx, req) => {
  const { broker } = ctx
  const results: Message[] = []
  for (const t of req.topics as Message[]) {
    const info = broker.logs.topic(t.name)
    const fail = (errorCode: number, errorMessage: string) =>
      results.push({ name: t.name, errorCode, errorMessage })
    if (!info) fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`)
    else if ((t.count as number) <= info.partitions)
      fail(
        ErrorCode.INVALID_PARTITIONS,
        `topic ${t.name} has ${info.partitions} partitions; the new count must be more`,
      )
    else if (req.validateOnly) results.push({ name: t.name, errorCode: 0, errorMessage: null })
    else {
      try {
        await broker.logs.createPartitions(t.name, t.count)
        broker.log('info', `topic ${t.name} now has ${t.count} partitions`)
        results.push({ name: t.name, errorCode: 0, errorMessage: null })
      } catch (error) {
        fail(kafkaErrorCode(error), error instanceof Error ? error.message : String(error))
      }
    }
  }
  return { throttleTimeMs: 0, results }
})

/** DeleteRecords (21) v0-2: moves each partition's log start up to the offset (-1 = high watermark). */
export const deleteRecordsHandler = codecHandler(21, async (ctx, req) => {
  const { logs } = ctx.broker
  const topics = await Promise.all(
    (req.topics as Message[]).map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(
        (t.partitions as Message[]).map(async (p) => {
          const log = logs.partition(t.name, p.partitionIndex)
          if (!log)
            return {
              partitionIndex: p.partitionIndex,
              lowWatermark: -1n,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            }
          try {
            const lowWatermark = await log.deleteRecordsBefore(p.offset as bigint)
            return { partitionIndex: p.partitionIndex, lowWatermark, errorCode: 0 }
          } catch (error) {
            return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: kafkaErrorCode(error) }
          }
        }),
      ),
    })),
  )
  return { throttleTimeMs: 0, topics }
})
