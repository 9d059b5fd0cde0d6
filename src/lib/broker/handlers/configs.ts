import { Writer } from '../../protocol/primitives.js'
import type { TopicConfig } from '../log/types.js'
import { ErrorCode } from './errors.js'
import type { ApiHandler, BrokerContext } from './types.js'

const TOPIC = 2
const BROKER = 4
/** Kafka ConfigSource: DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG. */
const SOURCE_TOPIC = 1
const SOURCE_STATIC_BROKER = 4
const SOURCE_DEFAULT = 5

interface ConfigEntry {
  name: string
  value: string | null
  readOnly: boolean
  source: number
}

function topicEntries(config: TopicConfig, defaults: Partial<TopicConfig>): ConfigEntry[] {
  const entry = (name: string, key: keyof TopicConfig): ConfigEntry => ({
    name,
    value: String(config[key]),
    readOnly: false,
    source: defaults[key] === undefined || defaults[key] !== config[key] ? SOURCE_TOPIC : SOURCE_DEFAULT,
  })
  return [
    { name: 'cleanup.policy', value: 'delete', readOnly: true, source: SOURCE_DEFAULT },
    entry('retention.bytes', 'retentionBytes'),
    entry('retention.ms', 'retentionMs'),
    entry('segment.bytes', 'segmentBytes'),
    { name: 'message.timestamp.type', value: 'CreateTime', readOnly: true, source: SOURCE_DEFAULT },
  ]
}

function brokerEntries(broker: BrokerContext): ConfigEntry[] {
  return [
    {
      name: 'auto.create.topics.enable',
      value: String(broker.autoCreateTopics),
      readOnly: true,
      source: SOURCE_STATIC_BROKER,
    },
    {
      name: 'num.partitions',
      value: String(broker.defaultPartitions),
      readOnly: true,
      source: SOURCE_STATIC_BROKER,
    },
    { name: 'default.replication.factor', value: '1', readOnly: true, source: SOURCE_DEFAULT },
    { name: 'broker.id', value: String(broker.nodeId), readOnly: true, source: SOURCE_STATIC_BROKER },
  ]
}

/** DescribeConfigs (32) v0-2: a topic's retention/segment settings and a few broker settings (read only). */
export const describeConfigsHandler: ApiHandler = {
  key: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, r) {
    const v = ctx.apiVersion
    const resources = r.array((r) => ({
      type: r.int8(),
      name: r.string(),
      keys: r.nullableArray((r) => r.string()),
    }))
    if (v >= 1) r.bool() // include_synonyms: there are none
    const { broker } = ctx
    const results = resources.map((res) => {
      let error: number = ErrorCode.NONE
      let message: string | null = null
      let entries: ConfigEntry[] = []
      if (res.type === TOPIC) {
        const info = broker.logs.topic(res.name)
        if (info) entries = topicEntries(info.config, broker.defaultTopicConfig)
        else {
          error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          message = `unknown topic ${res.name}`
        }
      } else if (res.type === BROKER) {
        entries = brokerEntries(broker)
      } else {
        error = ErrorCode.INVALID_REQUEST
        message = `unsupported resource type ${res.type}`
      }
      if (res.keys) entries = entries.filter((e) => res.keys?.includes(e.name))
      return { ...res, error, message, entries }
    })
    const w = new Writer(128 + results.length * 256)
    w.int32(0)
    w.array(results, (w, res) => {
      w.int16(res.error).nullableString(res.message).int8(res.type).string(res.name)
      w.array(res.entries, (w, e) => {
        w.string(e.name).nullableString(e.value).bool(e.readOnly)
        if (v === 0) w.bool(e.source === SOURCE_DEFAULT)
        else w.int8(e.source)
        w.bool(false)
        if (v >= 1) w.int32(0)
      })
    })
    return w
  },
}
