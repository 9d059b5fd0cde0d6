import type { Message } from '../../protocol/schema.js'
import { isValidTopicName, type TopicInfo } from '../log/types.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { RequestContext } from './types.js'

const NO_OPERATIONS = -2147483648
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

function topicEntry(
  ctx: RequestContext,
  info: TopicInfo | undefined,
  name: string | null,
  error: number,
): Message {
  const node = ctx.broker.nodeId
  return {
    errorCode: error,
    name: info?.name ?? name,
    topicId: info?.id ?? ZERO_UUID,
    isInternal: false,
    partitions: Array.from({ length: info?.partitions ?? 0 }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: node,
      leaderEpoch: 0,
      replicaNodes: [node],
      isrNodes: [node],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: NO_OPERATIONS,
  }
}

/**
 * Metadata (3) v0-12, with topic ids (v10+; v12 may name topics by id): the one broker leads every
 * partition and is the controller. Unknown topics are auto-created when the request allows it.
 */
export const metadataHandler = codecHandler(3, async (ctx, req) => {
  const v = ctx.apiVersion
  const { broker } = ctx
  const asked = req.topics as Message[] | null
  const all = asked === null || (v === 0 && asked.length === 0)
  const topics: Message[] = []
  if (all) {
    for (const t of broker.logs.topics()) topics.push(topicEntry(ctx, t, t.name, 0))
  } else {
    for (const t of asked) {
      const name = t.name as string | null
      if (name === null) {
        // By topic id (v12): the name is answered back.
        const info = broker.logs.topics().find((x) => x.id === t.topicId)
        topics.push(
          info
            ? topicEntry(ctx, info, info.name, 0)
            : { ...topicEntry(ctx, undefined, null, ErrorCode.UNKNOWN_TOPIC_ID), topicId: t.topicId },
        )
        continue
      }
      let info = broker.logs.topic(name)
      let error: number = ErrorCode.NONE
      if (!info) {
        if (!isValidTopicName(name)) error = ErrorCode.INVALID_TOPIC_EXCEPTION
        else if ((req.allowAutoTopicCreation as boolean) && broker.autoCreateTopics) {
          try {
            await broker.ensureTopic(name, broker.defaultPartitions)
            info = broker.logs.topic(name)
            broker.log('info', `auto-created topic ${name}`, { partitions: info?.partitions })
          } catch (error_) {
            error = kafkaErrorCode(error_)
          }
        } else error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if (!info && error === ErrorCode.NONE) error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      }
      topics.push(topicEntry(ctx, error === 0 ? info : undefined, name, error))
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.port(), rack: null }],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
    clusterAuthorizedOperations: NO_OPERATIONS,
  }
})
