import { Kafka, type KafkaConfig, type LogEntry, logLevel } from 'kafkajs'

export interface KafkaLogLine {
  level: 'error' | 'warn' | 'info' | 'debug'
  namespace: string
  message: string
  extra?: Record<string, unknown>
}

export interface CreateKafkaOptions {
  brokers: string[]
  clientId?: string
  /** Receives kafkajs's log lines (nothing is printed by the library). Default: dropped. */
  log?: (line: KafkaLogLine) => void
  /** kafkajs log level; default warn. */
  level?: 'error' | 'warn' | 'info' | 'debug'
  connectionTimeout?: number
  requestTimeout?: number
  retry?: KafkaConfig['retry']
}

const LEVELS = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
} as const
const NAMES: Record<number, KafkaLogLine['level']> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** The one kafkajs factory: every Kafka client in the project is made here, so logging never hits stdout. */
export function createKafka(options: CreateKafkaOptions): Kafka {
  const sink = options.log
  return new Kafka({
    clientId: options.clientId ?? 'game',
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeout ?? 3000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry,
    logLevel: LEVELS[options.level ?? 'warn'],
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        if (!sink) return
        const { message, ...extra } = log
        sink({ level: NAMES[level] ?? 'info', namespace, message: String(message), extra })
      },
  })
}
