export * from '../../protocol/batch.js'
export { crc32c } from '../../protocol/crc32c.js'
export * from './batch.js'
export {
  DEFAULT_TOPIC_CONFIG,
  type DurableLogManager,
  MAX_PARTITIONS,
  openLogManager,
  type RetentionResult,
  resolveTopicConfig,
} from './manager.js'
export { FileGroupOffsetStore, type GroupOffsetStoreOptions } from './offsets.js'
export * from './types.js'
