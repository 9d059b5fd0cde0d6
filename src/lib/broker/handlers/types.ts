import type { Reader, Writer } from '../../protocol/primitives.js'
import type { GroupCoordinator } from '../group/coordinator.js'
import type { LogManager, TopicConfig } from '../log/types.js'

/** What every API handler may use: the storage, the coordinator and the broker's identity. */
export interface BrokerContext {
  logs: LogManager
  groups: GroupCoordinator
  nodeId: number
  clusterId: string
  advertisedHost: string
  /** The bound port (known after listen). */
  port(): number
  autoCreateTopics: boolean
  defaultPartitions: number
  defaultTopicConfig: Partial<TopicConfig>
  /** Creates a topic unless it exists (concurrent auto-creates are fine). */
  ensureTopic(name: string, partitions: number, config?: Partial<TopicConfig>): Promise<void>
  log(level: 'error' | 'warn' | 'info' | 'debug', message: string, extra?: Record<string, unknown>): void
  /** Per-request debug lines wanted (BrokerOptions.logDebug): check before building one. */
  debug: boolean
}

/** One decoded request header plus per-connection facts. */
export interface RequestContext {
  broker: BrokerContext
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string
  clientHost: string
  /** Aborts when the connection closes (ends parked fetches). */
  signal: AbortSignal
}

/** A handler's answer: the response body, or null for "send nothing" (Produce acks=0). */
export type HandlerResult = Writer | null

export interface ApiHandler {
  key: number
  name: string
  minVersion: number
  maxVersion: number
  handle(ctx: RequestContext, body: Reader): HandlerResult | Promise<HandlerResult>
}
