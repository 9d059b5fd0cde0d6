/**
 * The stack is a list of services. Each has a name, an address, a way to probe it and, when it runs
 * inside our own daemon (embedded mode), a way to start and stop it. Docker mode uses the same list
 * without `start`, so status tables and probes share one code path.
 */

export type StackMode = 'embedded' | 'docker'

/** What a probe found: ok or not, and one line that says why. */
export interface ProbeResult {
  ok: boolean
  detail: string
  /** How long the probe took to answer (set by probeServices). */
  latencyMs?: number
  /** Kafka: its log directories, as DescribeLogDirs reports them (absent when it cannot tell). */
  storage?: KafkaStorage
}

/** One Kafka log directory: can it write (not KAFKA_STORAGE_ERROR), and its file system's space. */
export interface LogDirStatus {
  dir: string
  ok: boolean
  /** Bytes free for the broker on the dir's file system (absent when the broker does not say). */
  usableBytes?: number
  totalBytes?: number
}

export interface KafkaStorage {
  /** False when a log dir cannot be written (a full or failing disk): produce gets KAFKA_STORAGE_ERROR. */
  ok: boolean
  logDirs: LogDirStatus[]
}

export type Probe = (address: string, signal?: AbortSignal) => Promise<ProbeResult>

/** A service started in this process; `stop` closes it. */
export interface StartedService {
  /** host:port it actually listens on (port 0 resolved). */
  address: string
  stop(): Promise<void>
}

export interface ServiceSpec {
  name: string
  /** host:port as configured (port 0 = ephemeral, resolved by start). */
  address: string
  /** The flag that sets this service's port, named in "port in use" errors. */
  portFlag?: string
  /** Present for services that run inside our daemon. */
  start?: () => Promise<StartedService>
  probe: Probe
}

/** 'degraded': it answers, but cannot do its job (Kafka: its log cannot be written, e.g. a full disk). */
export type ServiceState = 'running' | 'degraded' | 'unreachable' | 'stopped'

/** One row of the status table / one entry of `services` in --json. */
export interface ServiceStatus {
  name: string
  address: string
  state: ServiceState
  pid?: number
  /** What the probe said (health), e.g. "1 broker(s), cluster …" or "ECONNREFUSED". */
  detail?: string
  /** How long the probe took, in ms. */
  latencyMs?: number
  /** Where it really listens when that differs from `address` (e.g. 0.0.0.0:9092). */
  listen?: string
  /** Kafka: its log directories' state and free space (DescribeLogDirs). */
  storage?: KafkaStorage
  /** What to do about a degraded state. */
  hint?: string
}

export interface PartitionOffsets {
  partition: number
  earliest: string
  latest: string
}

export interface TopicStatus {
  name: string
  partitions: PartitionOffsets[]
}

/** The result of `game up` and `game status` (status adds topics). */
export interface StackStatusResult {
  /** 'external': a cluster given with --brokers / --lake, not started by game up. */
  mode: StackMode | 'external'
  dataDir: string
  /** The daemon's pid (embedded mode). */
  pid?: number
  /** The compose file in docker mode. */
  composeFile?: string
  services: ServiceStatus[]
  /** True when `game up` found the stack already running. */
  alreadyRunning?: boolean
  /** Set by `game up` when it created the events topic. */
  topicCreated?: boolean
  topics?: TopicStatus[]
  /** embedded mode: the bind address the services listen on. */
  bind?: string
  /** Loud notes for the user, e.g. a bind that exposes the stack beyond this machine. */
  warnings?: string[]
}
