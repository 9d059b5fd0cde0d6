import { Writer } from '../../protocol/primitives.js'
import { isValidTopicName } from '../log/types.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

interface TopicEntry {
  error: number
  name: string
  partitions: number
}

const NO_OPERATIONS = -2147483648

/** Metadata (3) v0-8: the one broker (leader of everything), controller = this node. */
export const metadataHandler: ApiHandler = {
  key: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 8,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const names = r.nullableArray((r) => r.string())
    const allowAuto = v >= 4 ? r.bool() : true
    if (v >= 8) {
      r.bool()
      r.bool()
    }
    const { broker } = ctx
    const all = names === null || (v === 0 && names.length === 0)
    const entries: TopicEntry[] = []
    if (all) {
      for (const t of broker.logs.topics()) entries.push({ error: 0, name: t.name, partitions: t.partitions })
    } else {
      for (const name of names) {
        let info = broker.logs.topic(name)
        let error: number = ErrorCode.NONE
        if (!info) {
          if (!isValidTopicName(name)) error = ErrorCode.INVALID_TOPIC_EXCEPTION
          else if (allowAuto && broker.autoCreateTopics) {
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
        entries.push({ error, name, partitions: info?.partitions ?? 0 })
      }
    }
    const node = broker.nodeId
    const w = new Writer(256 + entries.length * 64)
    if (v >= 3) w.int32(0)
    w.int32(1)
    w.int32(node).string(broker.advertisedHost).int32(broker.port())
    if (v >= 1) w.nullableString(null)
    if (v >= 2) w.nullableString(broker.clusterId)
    if (v >= 1) w.int32(node)
    w.array(entries, (w, t) => {
      w.int16(t.error).string(t.name)
      if (v >= 1) w.bool(false)
      w.int32(t.partitions)
      for (let p = 0; p < t.partitions; p++) {
        w.int16(0).int32(p).int32(node)
        if (v >= 7) w.int32(0)
        w.int32(1).int32(node)
        w.int32(1).int32(node)
        if (v >= 5) w.int32(0)
      }
      if (v >= 8) w.int32(NO_OPERATIONS)
    })
    if (v >= 8) w.int32(NO_OPERATIONS)
    return w
  },
}
