import { type ApiRange, apiVersionsHandler } from './api-versions.js'
import { describeClusterHandler, describeConfigsHandler } from './configs.js'
import { fetchHandler } from './fetch.js'
import {
  deleteGroupsHandler,
  describeGroupsHandler,
  findCoordinatorHandler,
  heartbeatHandler,
  initProducerIdHandler,
  joinGroupHandler,
  leaveGroupHandler,
  listGroupsHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  syncGroupHandler,
} from './groups.js'
import { listOffsetsHandler } from './list-offsets.js'
import { describeLogDirsHandler } from './log-dirs.js'
import { metadataHandler } from './metadata.js'
import { produceHandler } from './produce.js'
import {
  createPartitionsHandler,
  createTopicsHandler,
  deleteRecordsHandler,
  deleteTopicsHandler,
} from './topics.js'
import type { ApiHandler } from './types.js'

export { ProtocolDecodeError, Reader, Writer } from '../../protocol/primitives.js'
export { type ApiRange, encodeApiVersions, unsupportedApiVersionsResponse } from './api-versions.js'
export { ErrorCode, kafkaErrorCode } from './errors.js'
export type { ApiHandler, BrokerContext, HandlerResult, RequestContext } from './types.js'

const HANDLERS: ApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  initProducerIdHandler,
  describeConfigsHandler,
  deleteGroupsHandler,
  createPartitionsHandler,
  deleteRecordsHandler,
  describeClusterHandler,
  describeLogDirsHandler,
]

/** The advertised version ranges: exactly what the handlers implement. */
export const SUPPORTED_APIS: readonly ApiRange[] = [
  ...HANDLERS.map((h) => ({ key: h.key, minVersion: h.minVersion, maxVersion: h.maxVersion })),
  { key: 18, minVersion: 0, maxVersion: 4 },
].sort((a, b) => a.key - b.key)

/** Handlers by API key (ApiVersions included). */
export const API_HANDLERS: ReadonlyMap<number, ApiHandler> = new Map(
  [...HANDLERS, apiVersionsHandler(() => SUPPORTED_APIS)].map((h) => [h.key, h]),
)
