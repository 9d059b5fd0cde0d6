export * from './batch.js'
export { crc32c } from './crc32c.js'
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
