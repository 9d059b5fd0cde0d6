import { Flags } from '@oclif/core'

/**
 * Flags shared by several commands. Each maps to a GameConfig key; values left unset fall through
 * to GAME_* env, game.config.json, the running stack's state file, then defaults (src/lib/config.ts).
 * No `default:` here on purpose: config.ts owns defaults.
 */
export const brokersFlag = Flags.string({
  summary: 'Kafka bootstrap servers, host:port[,host:port]. Default: the running stack, else 127.0.0.1:9092.',
  env: 'GAME_BROKERS',
})

export const topicFlag = Flags.string({
  summary: 'Kafka topic for game events. Default: game_events.',
  env: 'GAME_TOPIC',
})

export const lakeFlag = Flags.string({
  summary: 'The lake: hdfs://host:port/path (WebHDFS) or file:///path. Default: hdfs://127.0.0.1:9870/tmp.',
  env: 'GAME_LAKE',
})

export const hdfsUserFlag = Flags.string({
  summary: 'WebHDFS user.name. Default: game.',
  env: 'GAME_HDFS_USER',
})

export const datanodeHostFlag = Flags.string({
  summary:
    'Rewrite WebHDFS datanode redirects to this host[:port] (docker setups whose datanode name does not resolve).',
  env: 'GAME_DATANODE_HOST',
})

export const apiUrlFlag = Flags.string({
  summary: 'Base URL of the game API. Default: http://127.0.0.1:5000.',
  env: 'GAME_API_URL',
})

export const kafkaPortFlag = Flags.integer({
  summary: 'Embedded Kafka port (default 9092).',
  env: 'GAME_KAFKA_PORT',
  min: 0,
  max: 65_535,
})

export const hdfsPortFlag = Flags.integer({
  summary: 'Embedded WebHDFS port (default 9870).',
  env: 'GAME_HDFS_PORT',
  min: 0,
  max: 65_535,
})
