import { readFileSync } from 'node:fs'
import path from 'node:path'
import { configError, ExitCode, GameError } from './errors.js'
import { parseBytes, parseDuration, durationMs as parseDurationMs } from './stream/units.js'

/**
 * The broker's default fsync interval: an append resolves once written to the OS (a broker crash
 * loses nothing; a power loss up to this long), as Kafka itself acks before any fsync.
 */
/** Kafka's socket.request.max.bytes default here (the broker's own default too). */
export const DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024

export const DEFAULT_FSYNC_INTERVAL_MS = 100

/**
 * The one config. Precedence: flag > GAME_* environment variable > game.config.json > stack state
 * (the addresses `game up` recorded) > defaults. Validated once, here; the rest of the code trusts it.
 */
export interface GameConfig {
  /** Where the embedded stack keeps its data, state file, logs and the report cache. */
  dataDir: string
  /** Kafka bootstrap servers. */
  brokers: string[]
  /** The events topic. */
  topic: string
  /** Partitions for the events topic when `game up` creates it. */
  partitions: number
  /** The lake: hdfs://host:port/path (WebHDFS) or file:///path. */
  lake: string
  /** WebHDFS user.name. */
  hdfsUser: string
  /** Rewrite WebHDFS datanode redirects to this host[:port] (docker setups). */
  datanodeHost?: string
  /** The game API's base URL (what `game load` and `game doctor` talk to). */
  apiUrl: string
  /** Embedded stack ports and bind address. */
  kafkaPort: number
  hdfsPort: number
  bind: string
  /** Item prices in coins. */
  prices: { sword: number; knife: number }
  /**
   * Embedded broker fsync policy: "always" (every batch) or a flush interval in milliseconds
   * (default 100: Kafka's own semantics, an ack means in the log; see docs/broker-storage.md).
   */
  fsync: 'always' | number
  /** `game query` and reports: a statement running longer is stopped (ms; 0 = no limit). */
  queryTimeoutMs: number
  /** DuckDB memory_limit for `game query` and reports, e.g. "2GB" (default: a quarter of RAM). */
  queryMemoryLimit?: string
  /** Bind address of `game api` (its own; `bind` is the embedded stack's). */
  apiBind: string
  /** Host names (besides loopback) the embedded WebHDFS gateway answers to. */
  hdfsAllowedHosts: string[]
  /** Embedded broker: largest request accepted, in bytes (Kafka's socket.request.max.bytes, default 100 MiB). */
  maxRequestBytes: number
  /** Lake retention: dt partitions older than this (ms) are expired by `game stream` (undefined: kept forever). */
  retention?: number
  /** Files a compaction or expiry removed are deleted this long (ms) after its commit (default 1 h). */
  lakeGraceMs: number
  /** `game lake compact` and the stream's compactor write files near this size, in bytes (default 128 MiB). */
  compactTargetSize: number
  /** `game stream` compacts closed partitions in the background (default true; --no-compact). */
  compact: boolean
  /** `game stream` settings (flags --group, --interval, … override them one by one). */
  stream: StreamSettings
}

/** The stream's settings: the one set of defaults is DEFAULT_STREAM. */
export interface StreamSettings {
  /** Consumer group; several processes in one group split the partitions. */
  group: string
  /** Flush at the latest this long after the previous flush (also when no new events arrive). */
  intervalMs: number
  /** Flush when this many rows are buffered. */
  maxRows: number
  /** Flush when this many bytes of rows are buffered. */
  maxBytes: number
  /** Consumer-group session timeout: how long a killed member holds its partitions. */
  sessionTimeoutMs: number
  /** Write a lake checkpoint after every this many flushes of a process (0: never). */
  checkpointEvery: number
  /** Uncommitted staging older than this is rolled back at start (a flush must take less). */
  stagingGraceMs: number
  /**
   * A flush's partition claims must lead to its commit record within this long; a claim older than
   * this that no commit record covers is an orphan (its writer died) and may be superseded.
   */
  claimLeaseMs: number
}

export const DEFAULT_STREAM: Readonly<StreamSettings> = Object.freeze({
  group: 'game-stream',
  intervalMs: 30_000,
  maxRows: 250_000,
  maxBytes: 32 * 1024 * 1024,
  sessionTimeoutMs: 30_000,
  checkpointEvery: 50,
  stagingGraceMs: 10 * 60_000,
  claimLeaseMs: 10_000,
})

export type ConfigKey = keyof GameConfig

type Parse = (raw: unknown, key: string) => unknown

interface KeySpec {
  env: string
  parse: Parse
}

const str: Parse = (raw, key) => {
  if (typeof raw !== 'string' || raw.trim() === '') throw configError(key, raw, 'expected a non-empty string')
  return raw.trim()
}

const port: Parse = (raw, key) => {
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw configError(key, raw, 'expected a port number 0-65535')
  return n
}

const positiveInt: Parse = (raw, key) => {
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(n) || n < 1) throw configError(key, raw, 'expected a positive integer')
  return n
}

const brokerList: Parse = (raw, key) => {
  const list = Array.isArray(raw) ? raw : String(raw).split(',')
  const brokers = list.map((b) => String(b).trim()).filter(Boolean)
  if (brokers.length === 0) throw configError(key, raw, 'expected host:port[,host:port...]')
  for (const b of brokers) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(b)
    if (!m || Number(m[2]) > 65_535) throw configError(key, raw, `"${b}" is not host:port`)
  }
  return brokers
}

const lakeUrl: Parse = (raw, key) => {
  const s = str(raw, key) as string
  let url: URL
  try {
    url = new URL(s)
  } catch {
    throw configError(key, raw, 'expected hdfs://host:port/path or file:///path')
  }
  if (url.protocol !== 'hdfs:' && url.protocol !== 'file:' && url.protocol !== 'webhdfs:') {
    throw configError(key, raw, 'expected hdfs://host:port/path or file:///path')
  }
  return s
}

const httpUrl: Parse = (raw, key) => {
  const s = str(raw, key) as string
  try {
    const u = new URL(s)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme')
  } catch {
    throw configError(key, raw, 'expected an http:// URL')
  }
  return s.replace(/\/+$/, '')
}

const prices: Parse = (raw, key) => {
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw)
    } catch {
      throw configError(key, raw, 'expected JSON like {"sword":10,"knife":10}')
    }
  }
  if (typeof raw !== 'object' || raw === null) throw configError(key, raw, 'expected {"sword":N,"knife":N}')
  const out: Record<string, number> = { sword: 10, knife: 10 }
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'sword' && k !== 'knife') throw configError(`${key}.${k}`, v, 'unknown item (sword, knife)')
    if (!Number.isInteger(v) || (v as number) < 0)
      throw configError(`${key}.${k}`, v, 'expected a whole number >= 0')
    out[k] = v as number
  }
  return out
}

const fsync: Parse = (raw, key) => {
  if (raw === 'always') return 'always'
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(n) || n < 1)
    throw configError(key, raw, 'expected "always" or a flush interval in ms')
  return n
}

const nonNegativeInt: Parse = (raw, key) => {
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(n) || n < 0) throw configError(key, raw, 'expected a whole number >= 0')
  return n
}

const memorySize: Parse = (raw, key) => {
  const v = String(raw).trim()
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(v))
    throw configError(key, raw, 'expected a size such as "512MB" or "4GB"')
  return v
}

const hostList: Parse = (raw, key) => {
  const list = (Array.isArray(raw) ? raw : String(raw).split(',')).map((h) => String(h).trim().toLowerCase())
  for (const h of list)
    if (!/^[a-z0-9.:[\]-]+$/.test(h)) throw configError(key, raw, `"${h}" is not a host name`)
  return list.filter(Boolean)
}

const duration: Parse = (raw, key) => {
  const ms = parseDurationMs(String(raw), 'd')
  if (ms === undefined)
    throw configError(key, raw, 'expected a duration such as "90d", "12h" or "30m" (bare numbers are days)')
  return ms
}

const bool: Parse = (raw, key) => {
  if (typeof raw === 'boolean') return raw
  const v = String(raw).trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw configError(key, raw, 'expected true or false')
}

const durationMs = (raw: unknown, key: string): number => {
  const n = typeof raw === 'number' ? raw : parseDuration(String(raw))
  if (n === undefined || !Number.isFinite(n) || n <= 0)
    throw configError(key, raw, 'expected a duration like 30s (or milliseconds)')
  return Math.round(n)
}

const byteSize = (raw: unknown, key: string): number => {
  const n = typeof raw === 'number' ? raw : parseBytes(String(raw))
  if (n === undefined || !Number.isInteger(n) || n <= 0)
    throw configError(key, raw, 'expected a size like 32MB (or bytes)')
  return n
}

const STREAM_KEYS: Record<keyof StreamSettings, Parse> = {
  group: str,
  intervalMs: durationMs,
  maxRows: positiveInt,
  maxBytes: byteSize,
  sessionTimeoutMs: durationMs,
  checkpointEvery: nonNegativeInt,
  stagingGraceMs: durationMs,
  claimLeaseMs: durationMs,
}

/** A partial `stream` section: an object (config file, flags) or its JSON text (GAME_STREAM). */
const streamSection: Parse = (raw, key) => {
  let value = raw
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      throw configError(key, raw, 'expected a JSON object like {"intervalMs":"10s"}')
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw configError(key, raw, `expected an object with keys ${Object.keys(STREAM_KEYS).join(', ')}`)
  const out: Partial<StreamSettings> = {}
  for (const [k, v] of Object.entries(value)) {
    const parse = STREAM_KEYS[k as keyof StreamSettings]
    if (!parse) throw configError(`${key}.${k}`, v, `unknown key (${Object.keys(STREAM_KEYS).join(', ')})`)
    if (v !== undefined) (out as Record<string, unknown>)[k] = parse(v, `${key}.${k}`)
  }
  return out
}

const SPEC: Record<ConfigKey, KeySpec> = {
  dataDir: { env: 'GAME_HOME', parse: str },
  brokers: { env: 'GAME_BROKERS', parse: brokerList },
  topic: { env: 'GAME_TOPIC', parse: str },
  partitions: { env: 'GAME_PARTITIONS', parse: positiveInt },
  lake: { env: 'GAME_LAKE', parse: lakeUrl },
  hdfsUser: { env: 'GAME_HDFS_USER', parse: str },
  datanodeHost: { env: 'GAME_DATANODE_HOST', parse: str },
  apiUrl: { env: 'GAME_API_URL', parse: httpUrl },
  kafkaPort: { env: 'GAME_KAFKA_PORT', parse: port },
  hdfsPort: { env: 'GAME_HDFS_PORT', parse: port },
  bind: { env: 'GAME_BIND', parse: str },
  prices: { env: 'GAME_PRICES', parse: prices },
  fsync: { env: 'GAME_FSYNC', parse: fsync },
  queryTimeoutMs: { env: 'GAME_QUERY_TIMEOUT_MS', parse: nonNegativeInt },
  queryMemoryLimit: { env: 'GAME_QUERY_MEMORY_LIMIT', parse: memorySize },
  apiBind: { env: 'GAME_API_BIND', parse: str },
  hdfsAllowedHosts: { env: 'GAME_HDFS_ALLOWED_HOSTS', parse: hostList },
  maxRequestBytes: { env: 'GAME_MAX_REQUEST_BYTES', parse: positiveInt },
  retention: { env: 'GAME_RETENTION', parse: duration },
  lakeGraceMs: { env: 'GAME_LAKE_GRACE_MS', parse: nonNegativeInt },
  compactTargetSize: { env: 'GAME_COMPACT_TARGET_SIZE', parse: byteSize },
  compact: { env: 'GAME_COMPACT', parse: bool },
  stream: { env: 'GAME_STREAM', parse: streamSection },
}

/** Every config key (each has a kebab-case flag of the same name where a command offers one). */
export const CONFIG_KEYS = Object.keys(SPEC) as ConfigKey[]

export const CONFIG_FILE = 'game.config.json'
export const STATE_FILE = 'stack.json'

/** What `game up` leaves in `<dataDir>/stack.json` so that other commands find the stack. */
export interface StackAddresses {
  kafka?: string
  hdfs?: string
  /** Docker mode: the datanode as published on the host (WebHDFS redirects are rewritten to it). */
  datanode?: string
  api?: string
}

export interface LoadConfigOptions {
  /** Values given as flags (undefined = not given). */
  flags?: Partial<Record<ConfigKey, unknown>>
  /** The environment (the command layer passes process.env). */
  env?: Record<string, string | undefined>
  cwd?: string
  /** Explicit config file (GAME_CONFIG); defaults to ./game.config.json when it exists. */
  configFile?: string
}

function readJsonFile(file: string, optional: boolean): Record<string, unknown> | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new GameError('CONFIG_UNREADABLE', `Cannot read config file ${file}`, {
      exitCode: ExitCode.config,
      cause: error,
      hint: 'Check the path in GAME_CONFIG, or remove it to use defaults.',
    })
  }
  try {
    const parsed = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object')
    return parsed
  } catch (error) {
    throw new GameError(
      'CONFIG_INVALID',
      `Config file ${file} is not a JSON object: ${(error as Error).message}`,
      {
        exitCode: ExitCode.config,
        cause: error,
        hint: `Fix the JSON in ${file} (keys: ${Object.keys(SPEC).join(', ')}).`,
      },
    )
  }
}

/** Reads the stack state file, if any, for the addresses of a running stack. */
export function readStackAddresses(dataDir: string): StackAddresses {
  try {
    const state = JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), 'utf8'))
    return (state?.addresses ?? {}) as StackAddresses
  } catch {
    return {}
  }
}

/** Where a resolved setting came from, in precedence order. */
export type ConfigSource = 'flag' | 'env' | 'file' | 'stack' | 'default'

export function loadConfig(options: LoadConfigOptions = {}): GameConfig {
  return resolveConfig(options).config
}

/** The config plus, per key, which layer gave its value (for `game config`). */
export function resolveConfig(options: LoadConfigOptions = {}): {
  config: GameConfig
  sources: Record<keyof GameConfig, ConfigSource>
} {
  const env = options.env ?? {}
  const cwd = options.cwd ?? '.'
  const flags = options.flags ?? {}
  const explicitFile = options.configFile ?? env.GAME_CONFIG
  const fileValues = explicitFile
    ? readJsonFile(path.resolve(cwd, explicitFile), false)!
    : (readJsonFile(path.resolve(cwd, CONFIG_FILE), true) ?? {})

  for (const key of Object.keys(fileValues)) {
    if (!(key in SPEC)) {
      throw new GameError('CONFIG_INVALID', `Unknown key "${key}" in ${explicitFile ?? CONFIG_FILE}`, {
        exitCode: ExitCode.config,
        hint: `Known keys: ${Object.keys(SPEC).join(', ')}.`,
      })
    }
  }

  const sources = {} as Record<keyof GameConfig, ConfigSource>
  const pick = (key: ConfigKey): unknown => {
    const flag = flags[key]
    const fromEnv = env[SPEC[key].env]
    if (flag !== undefined) {
      // oclif fills a flag from its GAME_* variable: that value came from the environment.
      sources[key] = fromEnv !== undefined && fromEnv === String(flag) ? 'env' : 'flag'
      return flag
    }
    if (fromEnv !== undefined && fromEnv !== '') {
      sources[key] = 'env'
      return fromEnv
    }
    if (fileValues[key] !== undefined) sources[key] = 'file'
    return fileValues[key]
  }
  const parsed = (key: ConfigKey): unknown => {
    const raw = pick(key)
    return raw === undefined ? undefined : SPEC[key].parse(raw, key)
  }

  /** The stream section merges key by key: flags > GAME_STREAM > the file's section > DEFAULT_STREAM. */
  const streamSettings = (): StreamSettings => {
    const layers: [ConfigSource, unknown][] = [
      ['file', fileValues.stream],
      ['env', env[SPEC.stream.env] || undefined],
      ['flag', flags.stream],
    ]
    const out: StreamSettings = { ...DEFAULT_STREAM }
    for (const [source, raw] of layers) {
      if (raw === undefined) continue
      const part = streamSection(raw, 'stream') as Partial<StreamSettings>
      if (Object.keys(part).length === 0) continue
      Object.assign(out, part)
      sources.stream = source
    }
    return out
  }

  const dataDir = path.resolve(cwd, (parsed('dataDir') as string | undefined) ?? '.game')
  const state = readStackAddresses(dataDir)
  const kafkaPort = (parsed('kafkaPort') as number | undefined) ?? 9092
  const hdfsPort = (parsed('hdfsPort') as number | undefined) ?? 9870
  const hdfsAddress = state.hdfs ?? `127.0.0.1:${hdfsPort}`

  const config: GameConfig = {
    dataDir,
    brokers: (parsed('brokers') as string[] | undefined) ?? [state.kafka ?? `127.0.0.1:${kafkaPort}`],
    topic: (parsed('topic') as string | undefined) ?? 'game_events',
    partitions: (parsed('partitions') as number | undefined) ?? 3,
    lake: (parsed('lake') as string | undefined) ?? `hdfs://${hdfsAddress}/tmp`,
    hdfsUser: (parsed('hdfsUser') as string | undefined) ?? 'game',
    datanodeHost: (parsed('datanodeHost') as string | undefined) ?? state.datanode,
    apiUrl:
      (parsed('apiUrl') as string | undefined) ??
      (state.api ? `http://${state.api}` : 'http://127.0.0.1:5000'),
    kafkaPort,
    hdfsPort,
    bind: (parsed('bind') as string | undefined) ?? '127.0.0.1',
    prices: (parsed('prices') as GameConfig['prices'] | undefined) ?? { sword: 10, knife: 10 },
    fsync: (parsed('fsync') as GameConfig['fsync'] | undefined) ?? DEFAULT_FSYNC_INTERVAL_MS,
    queryTimeoutMs: (parsed('queryTimeoutMs') as number | undefined) ?? 60_000,
    queryMemoryLimit: parsed('queryMemoryLimit') as string | undefined,
    apiBind: (parsed('apiBind') as string | undefined) ?? '127.0.0.1',
    hdfsAllowedHosts: (parsed('hdfsAllowedHosts') as string[] | undefined) ?? [],
    maxRequestBytes: (parsed('maxRequestBytes') as number | undefined) ?? DEFAULT_MAX_REQUEST_BYTES,
    retention: parsed('retention') as number | undefined,
    lakeGraceMs: (parsed('lakeGraceMs') as number | undefined) ?? 3_600_000,
    compactTargetSize: (parsed('compactTargetSize') as number | undefined) ?? 128 * 1024 * 1024,
    compact: (parsed('compact') as boolean | undefined) ?? true,
    stream: streamSettings(),
  }
  const fromStack: Partial<Record<keyof GameConfig, unknown>> = {
    brokers: state.kafka,
    lake: state.hdfs,
    datanodeHost: state.datanode,
    apiUrl: state.api,
  }
  for (const key of Object.keys(config) as (keyof GameConfig)[]) {
    sources[key] ??= fromStack[key] !== undefined ? 'stack' : 'default'
  }
  return { config, sources }
}
