import { MESSAGES } from './generated/messages.js'
import { inRange, type MessageSpec, type VersionRange } from './schema.js'

/**
 * The APIs this project speaks, by key: their names, Apache Kafka 3.9's request and response
 * descriptors, and which header versions a given (API, version) uses.
 */

export interface ApiSpec {
  key: number
  name: string
  request: MessageSpec
  response: MessageSpec
  /** Apache Kafka 3.9's validVersions. */
  valid: VersionRange
  /** First flexible version (compact encodings, tagged fields, header v2/v1). */
  flexibleFrom: number
}

const specs = Object.values(MESSAGES) as readonly MessageSpec[]

export const API_SPECS: ReadonlyMap<number, ApiSpec> = new Map(
  specs
    .filter((s) => s.type === 'request')
    .map((request) => {
      const name = request.name.replace(/Request$/, '')
      const response = specs.find((s) => s.name === `${name}Response`)
      if (!response) throw new Error(`no response spec for ${name}`)
      const api: ApiSpec = {
        key: request.apiKey,
        name,
        request,
        response,
        valid: request.valid,
        flexibleFrom: request.flexible[0],
      }
      return [request.apiKey, api] as const
    }),
)

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  DescribeConfigs: 32,
  DescribeLogDirs: 35,
  CreatePartitions: 37,
  DeleteGroups: 42,
  DescribeCluster: 60,
} as const

export function apiSpec(key: number): ApiSpec {
  const api = API_SPECS.get(key)
  if (!api) throw new RangeError(`API key ${key} is not one this project speaks`)
  return api
}

export function apiName(key: number): string {
  return API_SPECS.get(key)?.name ?? `ApiKey(${key})`
}

export function isFlexible(key: number, version: number): boolean {
  const api = API_SPECS.get(key)
  return api !== undefined && version >= api.flexibleFrom
}

/** Request header version: 2 for flexible versions, else 1 (v0 is only ControlledShutdown v0). */
export function requestHeaderVersion(key: number, version: number): number {
  return isFlexible(key, version) ? 2 : 1
}

/**
 * Response header version: 1 (with tagged fields) for flexible versions, else 0. ApiVersions always
 * answers with header v0, so that a client can read the error of a version the broker lacks (KIP-511).
 */
export function responseHeaderVersion(key: number, version: number): number {
  if (key === ApiKey.ApiVersions) return 0
  return isFlexible(key, version) ? 1 : 0
}

export { inRange }
