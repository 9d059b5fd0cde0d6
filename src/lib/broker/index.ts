export { GroupCoordinator, type GroupState } from './group/coordinator.js'
export { openMemoryLogManager } from './memory-log.js'
export { SUPPORTED_APIS } from './protocol/index.js'
export {
  type BrokerHandle,
  type BrokerLogLevel,
  type BrokerOptions,
  type BrokerStats,
  startBroker,
} from './server.js'
