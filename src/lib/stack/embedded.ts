import path from 'node:path'
import { probeKafka, webHdfsProbe } from './probes.js'
import type { ServiceSpec } from './types.js'

export interface EmbeddedStackOptions {
  dataDir: string
  /** Bind address (default 127.0.0.1). */
  bind?: string
  kafkaPort: number
  hdfsPort: number
  /** Broker fsync policy: 'always' or a flush interval in ms (default: the broker's, 100 ms). */
  fsync?: 'always' | number
  /** Largest request the broker accepts (socket.request.max.bytes; default: the broker's, 100 MiB). */
  maxRequestBytes?: number
  hdfsUser?: string
  /** Host names besides loopback the WebHDFS gateway answers to (hdfsAllowedHosts). */
  hdfsAllowedHosts?: string[]
  /** Log lines from the services (the daemon appends them to its log). */
  log?: (service: string, line: string) => void
}

export function kafkaDataDir(dataDir: string): string {
  return path.join(dataDir, 'kafka')
}

export function hdfsDataDir(dataDir: string): string {
  return path.join(dataDir, 'hdfs')
}

/** Pure: the host clients should dial for a bind address (a wildcard bind is reached on loopback). */
export function connectHost(bind: string): string {
  return bind === '0.0.0.0' || bind === '::' || bind === '' ? '127.0.0.1' : bind
}

type Level = 'error' | 'warn' | 'info' | 'debug'

/** Pure: one log line per service message, debug dropped, extra fields as JSON. */
export function formatServiceLog(
  level: Level,
  message: string,
  extra?: Record<string, unknown>,
): string | undefined {
  if (level === 'debug') return undefined
  const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ''
  return `${level} ${message}${tail}`
}

function serviceLog(service: string, log: (service: string, line: string) => void) {
  return (level: Level, message: string, extra?: Record<string, unknown>) => {
    const line = formatServiceLog(level, message, extra)
    if (line !== undefined) log(service, line)
  }
}

/** The embedded stack: our Kafka-compatible broker and our WebHDFS gateway, data under the data dir. */
export function embeddedServices(options: EmbeddedStackOptions): ServiceSpec[] {
  const host = options.bind ?? '127.0.0.1'
  const log = options.log ?? (() => {})
  return [
    {
      name: 'kafka',
      address: `${connectHost(host)}:${options.kafkaPort}`,
      portFlag: '--kafka-port',
      probe: probeKafka,
      async start() {
        const { startBroker } = await import('../broker/index.js')
        const broker = await startBroker({
          host,
          port: options.kafkaPort,
          dataDir: kafkaDataDir(options.dataDir),
          fsync:
            options.fsync === 'always' || options.fsync === undefined
              ? options.fsync
              : { intervalMs: options.fsync },
          maxFrameBytes: options.maxRequestBytes,
          log: serviceLog('kafka', log),
        })
        return { address: `${connectHost(broker.host)}:${broker.port}`, stop: () => broker.close() }
      },
    },
    {
      name: 'hdfs',
      address: `${connectHost(host)}:${options.hdfsPort}`,
      portFlag: '--hdfs-port',
      probe: webHdfsProbe(options.hdfsUser),
      async start() {
        const { startWebHdfsGateway } = await import('../hdfs/gateway.js')
        const gateway = await startWebHdfsGateway({
          host,
          port: options.hdfsPort,
          root: hdfsDataDir(options.dataDir),
          allowedHosts: options.hdfsAllowedHosts,
          log: serviceLog('hdfs', log),
        })
        return { address: `${connectHost(gateway.host)}:${gateway.port}`, stop: () => gateway.close() }
      },
    },
  ]
}
