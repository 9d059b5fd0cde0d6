export { GroupCoordinator, type GroupState } from './group/coordinator.js'
export { SUPPORTED_APIS } from './handlers/index.js'
export { openMemoryLogManager } from './memory-log.js'
export {
  type BrokerHandle,
  type BrokerLogLevel,
  type BrokerOptions,
  type BrokerStats,
  startBroker,
} from './server.js'
