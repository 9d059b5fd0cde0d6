import type { Message } from '../../protocol/schema.js'
import type { TopicConfig } from '../log/types.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode } from './errors.js'
import type { BrokerContext } from './types.js'

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

/** DescribeConfigs (32) v0-4: a topic's retention/segment settings and a few broker settings (read only). */
export const describeConfigsHandler = codecHandler(32, (ctx, req) => {
  const { broker } = ctx
  const results = (req.resources as Message[]).map((res) => {
    let errorCode: number = ErrorCode.NONE
    let errorMessage: string | null = null
    let entries: ConfigEntry[] = []
    if (res.resourceType === TOPIC) {
      const info = broker.logs.topic(res.resourceName)
      if (info) entries = topicEntries(info.config, broker.defaultTopicConfig)
      else {
        errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        errorMessage = `unknown topic ${res.resourceName}`
      }
    } else if (res.resourceType === BROKER) {
      entries = brokerEntries(broker)
    } else {
      errorCode = ErrorCode.INVALID_REQUEST
      errorMessage = `unsupported resource type ${res.resourceType}`
    }
    const keys = res.configurationKeys as string[] | null
    if (keys) entries = entries.filter((e) => keys.includes(e.name))
    return {
      errorCode,
      errorMessage,
      resourceType: res.resourceType,
      resourceName: res.resourceName,
      configs: entries.map((e) => ({
        name: e.name,
        value: e.value,
        readOnly: e.readOnly,
        isDefault: e.source === SOURCE_DEFAULT,
        configSource: e.source,
        isSensitive: false,
        synonyms: [],
        configType: 0,
        documentation: null,
      })),
    }
  })
  return { throttleTimeMs: 0, results }
})

/** DescribeCluster (60) v0-1: this one broker, also the controller. */
export const describeClusterHandler = codecHandler(60, (ctx, req) => {
  const { broker } = ctx
  // v1 endpoint type 2 asks for controllers (KIP-919); this broker answers for both roles.
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: req.endpointType,
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    brokers: [{ brokerId: broker.nodeId, host: broker.advertisedHost, port: broker.port(), rack: null }],
    clusterAuthorizedOperations: -2147483648,
  }
})
