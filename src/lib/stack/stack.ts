import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { isErrorCode } from '../error-codes.js'
import { ExitCode, GameError, usageError } from '../errors.js'
import { ensureTopic, topicOffsets } from '../kafka/admin.js'
import { readApiState } from './api-state.js'
import {
  composeDown,
  composeUp,
  DEFAULT_DOCKER_PORTS,
  type DockerPorts,
  dockerServices,
  requireDockerEngine,
} from './docker.js'
import { embeddedServices } from './embedded.js'
import { exposureWarning, hostPort } from './exposure.js'
import { probeGameApi, probeKafka, webHdfsProbe } from './probes.js'
import type { Spawner } from './spawner.js'
import {
  assessState,
  logDir,
  readState,
  removeState,
  type StackStateFile,
  stackLogPath,
  statePath,
  writeState,
} from './state.js'
import { toServiceStatus } from './status.js'
import { probeServices, waitHealthy } from './supervisor.js'
import type { ServiceSpec, StackMode, StackStatusResult } from './types.js'

type Progress = (line: string) => void

export interface StartStackOptions {
  mode: StackMode
  dataDir: string
  bind: string
  kafkaPort: number
  hdfsPort: number
  /** docker mode only (default 9864). */
  datanodePort?: number
  topic: string
  partitions: number
  hdfsUser?: string
  fsync?: 'always' | number
  /** Embedded broker's largest request in bytes (passed to the daemon). */
  maxRequestBytes?: number
  /** How to run the daemon: e.g. [process.execPath, 'bin/run.js', 'stack', 'daemon']. Flags are appended. */
  daemonCommand: string[]
  /** docker mode: absolute path of docker-compose.yml. */
  composeFile: string
  spawner: Spawner
  /** How long to wait for the services to answer (default 60 s embedded, 300 s docker). */
  timeoutMs?: number
  onProgress?: Progress
  signal?: AbortSignal
}

/** Probes whatever the state file describes and builds the status result. */
async function describeRunning(state: StackStateFile, hdfsUser?: string): Promise<StackStatusResult> {
  const services = servicesFromState(state, hdfsUser)
  const probes = await probeServices(services)
  return {
    mode: state.mode,
    dataDir: state.dataDir,
    ...(state.pid === undefined ? {} : { pid: state.pid }),
    ...(state.composeFile ? { composeFile: state.composeFile } : {}),
    services: services.map((s, i) => {
      const status = toServiceStatus({ name: s.name, address: s.address, pid: state.pid }, probes[i])
      const listen = state.bind
        ? hostPort(state.bind, s.address.slice(s.address.lastIndexOf(':') + 1))
        : undefined
      return listen && listen !== s.address ? { ...status, listen } : status
    }),
    ...(state.bind ? { bind: state.bind } : {}),
    ...exposure(state.bind),
  }
}

function exposure(bind: string | undefined): { warnings?: string[] } {
  const w =
    bind === undefined
      ? undefined
      : exposureWarning(bind, `The Kafka broker and the WebHDFS gateway (bind ${bind})`)
  return w ? { warnings: [w] } : {}
}

/** Pure-ish: the probe-able services a state file describes (same specs as up, at the recorded addresses). */
export function servicesFromState(state: StackStateFile, hdfsUser?: string): ServiceSpec[] {
  const portOf = (a: string | undefined, fallback: number) =>
    a ? Number(a.slice(a.lastIndexOf(':') + 1)) : fallback
  if (state.mode === 'docker') {
    return dockerServices(
      {
        kafkaPort: portOf(state.addresses.kafka, DEFAULT_DOCKER_PORTS.kafkaPort),
        hdfsPort: portOf(state.addresses.hdfs, DEFAULT_DOCKER_PORTS.hdfsPort),
        datanodePort: portOf(state.addresses.datanode, DEFAULT_DOCKER_PORTS.datanodePort),
      },
      hdfsUser,
    )
  }
  const specs = embeddedServices({ dataDir: state.dataDir, kafkaPort: 0, hdfsPort: 0, hdfsUser })
  return specs.map((spec) => {
    const recorded = state.services.find((s) => s.name === spec.name)
    return { name: spec.name, address: recorded?.address ?? spec.address, probe: spec.probe }
  })
}

/**
 * Checks the state file: a live stack is returned, a stale one (daemon gone) is cleaned up.
 */
function currentStack(dataDir: string, spawner: Spawner, onProgress: Progress): StackStateFile | undefined {
  const assessed = assessState(readState(dataDir), (pid) => spawner.isAlive(pid))
  if (assessed.kind === 'stale') {
    removeState(dataDir)
    onProgress(`Removed stale state file ${statePath(dataDir)} (${assessed.reason}).`)
    return undefined
  }
  return assessed.kind === 'running' ? assessed.state : undefined
}

async function createTopic(
  options: StartStackOptions,
  kafkaAddress: string,
  onProgress: Progress,
): Promise<boolean> {
  const result = await ensureTopic({
    brokers: [kafkaAddress],
    topic: options.topic,
    partitions: options.partitions,
  })
  onProgress(
    result.created
      ? `Created topic ${result.topic} with ${result.partitions} partition(s).`
      : `Topic ${result.topic} exists (${result.partitions} partition(s)).`,
  )
  return result.created
}

/** Resolves to the promise's value, or 'timeout' / 'aborted'; never leaves a timer behind. */
async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | 'timeout' | 'aborted'> {
  const stop = new AbortController()
  const timerSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
  const timer = delay(ms, 'timeout' as const, { signal: timerSignal }).catch(() => 'aborted' as const)
  try {
    return await Promise.race([promise, timer])
  } finally {
    stop.abort()
  }
}

/** Waits for the daemon to exit, SIGKILLing it after the timeout. */
async function reapDaemon(spawner: Spawner, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (spawner.isAlive(pid) && Date.now() < deadline) await delay(50)
  if (spawner.isAlive(pid)) spawner.kill(pid, 'SIGKILL')
}

/**
 * `game up`: starts the stack (a detached daemon, or docker compose), waits until Kafka metadata and
 * WebHDFS GETFILESTATUS answer, creates the events topic and returns the status. If a stack is up
 * already it is reported as it is.
 */
export async function startStack(options: StartStackOptions): Promise<StackStatusResult> {
  const onProgress = options.onProgress ?? (() => {})
  const { spawner, dataDir } = options
  let release: () => void
  try {
    release = acquireStartLock(dataDir, spawner, onProgress)
  } catch (error) {
    throw dataDirFull(error, dataDir)
  }
  try {
    const existing = currentStack(dataDir, spawner, onProgress)
    if (existing) {
      onProgress(`The ${existing.mode} stack is already running.`)
      return { ...(await describeRunning(existing, options.hdfsUser)), alreadyRunning: true }
    }
    return await (options.mode === 'docker'
      ? startDocker(options, onProgress)
      : startEmbedded(options, onProgress))
  } catch (error) {
    throw dataDirFull(error, dataDir)
  } finally {
    release()
  }
}

/** A full disk under the data dir (ENOSPC, EDQUOT) becomes DATA_DIR_FULL with the fix; anything else as it is. */
export function dataDirFull(error: unknown, dataDir: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error
  return new GameError('DATA_DIR_FULL', `No space left for the stack in ${dataDir} (${code})`, {
    exitCode: ExitCode.failure,
    hint: `Free space there (\`df -h ${dataDir}\`), or use another --data-dir / GAME_HOME, then run \`game up\` again.`,
    cause: error,
  })
}

/** `<dataDir>/stack.lock`: held by the `game up` that is starting the stack, holding its pid. */
export function startLockPath(dataDir: string): string {
  return path.join(dataDir, 'stack.lock')
}

/**
 * Makes sure only one `game up` starts a stack for a data dir at a time (two would start two
 * daemons and the second would overwrite the state file). A lock whose pid is dead is stale and taken
 * over. Returns the release function.
 */
export function acquireStartLock(
  dataDir: string,
  spawner: Pick<Spawner, 'isAlive'>,
  onProgress: Progress,
): () => void {
  mkdirSync(dataDir, { recursive: true })
  const file = startLockPath(dataDir)
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(file, 'wx')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
      if (Number.isInteger(holder) && holder > 0 && spawner.isAlive(holder)) {
        throw new GameError(
          'STACK_STARTING',
          `Another \`game up\` (pid ${holder}) is starting the stack in ${dataDir}`,
          {
            exitCode: ExitCode.failure,
            hint: 'Wait for it to finish, then run `game status`.',
            details: { pid: holder, lock: file },
          },
        )
      }
      onProgress(`Removing a stale start lock (pid ${Number.isNaN(holder) ? '?' : holder} is gone).`)
      rmSync(file, { force: true })
      continue
    }
    try {
      writeSync(fd, String(process.pid))
    } catch (error) {
      // A full disk: leave no empty lock behind.
      closeSync(fd)
      rmSync(file, { force: true })
      throw error
    }
    closeSync(fd)
    return () => rmSync(file, { force: true })
  }
  throw new GameError('STACK_LOCK', `Could not take the start lock ${file}`, {
    hint: `Remove ${file} if no \`game up\` is running, then try again.`,
  })
}

async function startEmbedded(options: StartStackOptions, onProgress: Progress): Promise<StackStatusResult> {
  const { spawner, dataDir } = options
  mkdirSync(logDir(dataDir), { recursive: true })
  const [command, ...baseArgs] = options.daemonCommand
  const args = [
    ...baseArgs,
    '--data-dir',
    dataDir,
    '--bind',
    options.bind,
    '--kafka-port',
    String(options.kafkaPort),
    '--hdfs-port',
    String(options.hdfsPort),
    '--fsync',
    String(options.fsync ?? 'always'),
    ...(options.maxRequestBytes === undefined
      ? []
      : ['--max-request-bytes', String(options.maxRequestBytes)]),
  ]
  onProgress(`Starting the embedded stack (log: ${stackLogPath(dataDir)})...`)
  const daemon = spawner.daemon(command, args, { logFile: stackLogPath(dataDir) })
  const timeoutMs = options.timeoutMs ?? 60_000
  const first = await withTimeout(daemon.firstMessage, timeoutMs, options.signal)
  if (first === 'timeout' || first === 'aborted') {
    spawner.kill(daemon.pid, 'SIGTERM')
    await reapDaemon(spawner, daemon.pid, 5000)
    daemon.release()
    if (first === 'aborted') options.signal?.throwIfAborted()
    throw new GameError('STACK_START_TIMEOUT', `The stack daemon did not start within ${timeoutMs} ms`, {
      hint: `See ${stackLogPath(dataDir)} (\`game logs\`).`,
    })
  }
  if ('exit' in first) {
    daemon.release()
    throw new GameError(
      'STACK_START_FAILED',
      `The stack daemon exited (code ${first.exit}) before it was ready`,
      {
        hint: `See ${stackLogPath(dataDir)} (\`game logs\`).`,
      },
    )
  }
  const message = first.message
  if (message.type === 'error') {
    // The daemon exits on its own after a failed start; make sure it does not linger.
    await withTimeout(daemon.exited, 5000)
    if (spawner.isAlive(daemon.pid)) spawner.kill(daemon.pid, 'SIGKILL')
    daemon.release()
    const e = message.error
    throw new GameError(isErrorCode(e.code) ? e.code : 'STACK_START_FAILED', e.message, {
      exitCode: e.exitCode ?? ExitCode.failure,
      hint: e.hint,
    })
  }
  daemon.release()
  const services = servicesFromState(
    {
      version: 1,
      mode: 'embedded',
      pid: message.pid,
      startedAt: '',
      dataDir,
      services: message.services,
      addresses: { kafka: '', hdfs: '' },
    },
    options.hdfsUser,
  )
  try {
    await waitHealthy(services, {
      timeoutMs,
      signal: options.signal,
      onProgress,
      hint: `See ${stackLogPath(dataDir)} (\`game logs\`).`,
    })
    const kafka = services.find((s) => s.name === 'kafka')!
    const topicCreated = await createTopic(options, kafka.address, onProgress)
    const state = readState(dataDir)
    if (!state) throw new GameError('STACK_STATE_MISSING', `The daemon did not write ${statePath(dataDir)}`)
    return { ...(await describeRunning(state, options.hdfsUser)), topicCreated }
  } catch (error) {
    onProgress('Stopping the daemon after the failed start...')
    spawner.kill(message.pid, 'SIGTERM')
    await reapDaemon(spawner, message.pid, 10_000)
    removeState(dataDir, message.pid)
    throw error
  }
}

async function startDocker(options: StartStackOptions, onProgress: Progress): Promise<StackStatusResult> {
  const { spawner, dataDir } = options
  const ports: DockerPorts = {
    kafkaPort: options.kafkaPort,
    hdfsPort: options.hdfsPort,
    datanodePort: options.datanodePort ?? DEFAULT_DOCKER_PORTS.datanodePort,
  }
  onProgress('Checking the Docker engine...')
  await requireDockerEngine(spawner)
  onProgress(`docker compose -f ${options.composeFile} up -d --wait (first run pulls images)...`)
  await composeUp(spawner, options.composeFile, ports)
  const services = dockerServices(ports, options.hdfsUser)
  const state: StackStateFile = {
    version: 1,
    mode: 'docker',
    startedAt: new Date().toISOString(),
    dataDir,
    composeFile: options.composeFile,
    services: services.map((s) => ({ name: s.name, address: s.address })),
    addresses: { kafka: services[0].address, hdfs: services[1].address, datanode: services[2].address },
  }
  writeState(dataDir, state)
  await waitHealthy(services, {
    timeoutMs: options.timeoutMs ?? 300_000,
    signal: options.signal,
    onProgress,
    hint: 'See `game logs kafka` / `game logs hdfs`, or `docker compose ps`.',
  })
  const topicCreated = await createTopic(options, services[0].address, onProgress)
  return { ...(await describeRunning(state, options.hdfsUser)), topicCreated }
}

export interface StopStackOptions {
  dataDir: string
  /** Also delete the data dir (docker: volumes). Needs `yes`. */
  purge?: boolean
  yes?: boolean
  /** Stop the docker stack even if the state file says nothing (e.g. state lost). */
  docker?: boolean
  composeFile: string
  spawner: Spawner
  /** SIGTERM grace before SIGKILL (default 10 s). */
  timeoutMs?: number
  onProgress?: Progress
}

export interface StopStackResult {
  /** What was stopped: 'embedded', 'docker', or null when nothing ran. */
  stopped: StackMode | null
  pid?: number
  /** True when the daemon had to be SIGKILLed. */
  killed?: boolean
  purged: boolean
  dataDir: string
}

/** Refuses to delete obviously wrong directories (/, the home dir, an ancestor of cwd). */
function assertPurgeable(dataDir: string, cwd: string): void {
  const resolved = path.resolve(dataDir)
  const rel = path.relative(resolved, path.resolve(cwd))
  const isAncestorOfCwd = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
  if (resolved === path.parse(resolved).root || resolved === os.homedir() || isAncestorOfCwd) {
    throw usageError(
      `Refusing to delete ${resolved}: it is not a dedicated data dir`,
      'Point --data-dir / GAME_HOME at the stack data directory (default ./.game).',
    )
  }
}

/** `game down`: SIGTERM the daemon (SIGKILL after the timeout) or `docker compose down`; optionally purge. */
export async function stopStack(options: StopStackOptions): Promise<StopStackResult> {
  const onProgress = options.onProgress ?? (() => {})
  const { spawner, dataDir } = options
  if (options.purge && !options.yes) {
    throw usageError(
      `--purge deletes ${dataDir} (Kafka log, HDFS files, logs); it needs --yes`,
      'Run `game down --purge --yes` to delete the data, or `game down` to keep it.',
    )
  }
  if (options.purge) assertPurgeable(dataDir, process.cwd())
  const state = currentStack(dataDir, spawner, onProgress)
  const result: StopStackResult = { stopped: null, purged: false, dataDir }

  if (options.docker && state?.mode === 'embedded') {
    // --docker names the docker stack: an embedded stack in this data dir is left running.
    throw new GameError(
      'STACK_MODE_MISMATCH',
      `The stack running for ${dataDir} is the embedded one (pid ${state.pid}), not docker; nothing was stopped`,
      {
        exitCode: ExitCode.usage,
        hint: 'Run `game down` (without --docker) to stop the embedded stack.',
        details: { mode: state.mode, pid: state.pid },
      },
    )
  }
  if (state?.mode === 'docker' || (!state && options.docker)) {
    const composeFile = state?.composeFile ?? options.composeFile
    onProgress(`docker compose -f ${composeFile} down${options.purge ? ' -v' : ''}...`)
    await composeDown(spawner, composeFile, { volumes: Boolean(options.purge) })
    removeState(dataDir)
    result.stopped = 'docker'
  } else if (state?.pid !== undefined) {
    const pid = state.pid
    onProgress(`Stopping the embedded stack (pid ${pid})...`)
    spawner.kill(pid, 'SIGTERM')
    const deadline = Date.now() + (options.timeoutMs ?? 10_000)
    while (spawner.isAlive(pid) && Date.now() < deadline) await delay(50)
    if (spawner.isAlive(pid)) {
      onProgress(`pid ${pid} did not stop in time; sending SIGKILL.`)
      spawner.kill(pid, 'SIGKILL')
      result.killed = true
      while (spawner.isAlive(pid)) await delay(20)
    }
    // The daemon removes its state file on SIGTERM; after a SIGKILL we do it.
    removeState(dataDir, pid)
    result.stopped = 'embedded'
    result.pid = pid
  }
  if (options.purge) {
    rmSync(dataDir, { recursive: true, force: true })
    result.purged = true
    onProgress(`Deleted ${dataDir}.`)
  }
  return result
}

export interface StackStatusOptions {
  dataDir: string
  spawner: Spawner
  hdfsUser?: string
  /** A cluster given with --brokers / --lake: probe it instead of the stack state. */
  external?: { brokers: string[]; lake?: string }
  /** Include topics with their earliest/latest offsets (default true). */
  topics?: boolean
  onProgress?: Progress
}

/** The error every command gives when it needs the stack and it is not up. */
export function stackNotRunningError(dataDir: string, note?: string): GameError {
  const why = note ? ` ${note}` : ''
  return new GameError('STACK_NOT_RUNNING', `The stack is not running (no live stack in ${dataDir}).${why}`, {
    exitCode: ExitCode.unreachable,
    hint: 'Run `game up` (or `game up --docker`), or point --brokers / --lake at a running cluster.',
  })
}

/**
 * Pure: the services of a cluster someone else runs, from --brokers / --lake. Kafka is probed on the
 * whole broker list; HDFS only when the lake is hdfs:// (a file:// lake has no service).
 */
export function externalServices(
  brokers: string[],
  lake: string | undefined,
  hdfsUser?: string,
): ServiceSpec[] {
  const services: ServiceSpec[] = [{ name: 'kafka', address: brokers.join(','), probe: probeKafka }]
  if (lake) {
    const url = new URL(lake)
    if (url.protocol === 'hdfs:' || url.protocol === 'webhdfs:') {
      services.push({ name: 'hdfs', address: url.host, probe: webHdfsProbe(hdfsUser) })
    }
  }
  return services
}

async function externalStatus(options: StackStatusOptions, brokers: string[]): Promise<StackStatusResult> {
  const services = externalServices(brokers, options.external?.lake, options.hdfsUser)
  const probes = await probeServices(services)
  const result: StackStatusResult = {
    mode: 'external',
    dataDir: options.dataDir,
    services: services.map((s, i) => toServiceStatus(s, probes[i])),
  }
  if (options.topics !== false) {
    result.topics = probes[0].ok ? await topicOffsets({ brokers, retries: 1 }) : []
  }
  return result
}

/**
 * `game status`: each service's probe and, when Kafka answers, its topics with earliest/latest
 * offsets. With `external` (--brokers / --lake given) that cluster is probed instead of the stack.
 */
export async function stackStatus(options: StackStatusOptions): Promise<StackStatusResult> {
  let stale: string | undefined
  const state = currentStack(options.dataDir, options.spawner, (line) => {
    stale = line
    options.onProgress?.(line)
  })
  // --brokers naming this data dir's own running stack (as exporting GAME_BROKERS suggests) is that
  // stack, not an external cluster.
  if (
    options.external &&
    options.external.brokers.length > 0 &&
    !(state && isThisStack(state, options.external))
  ) {
    return externalStatus(options, options.external.brokers)
  }
  if (!state) throw stackNotRunningError(options.dataDir, stale)
  const result = await describeRunning(state, options.hdfsUser)
  const api = readApiState(options.dataDir, (pid) => options.spawner.isAlive(pid))
  if (api) {
    const started = performance.now()
    const probe = await probeGameApi(api.url)
    result.services.push({
      name: 'api',
      address: api.url.replace(/^https?:\/\//, ''),
      state: probe.ok ? 'running' : probe.kind === 'none' ? 'unreachable' : 'running',
      pid: api.pid,
      detail: probe.detail,
      latencyMs: probe.latencyMs ?? Math.round((performance.now() - started) * 10) / 10,
    })
  }
  if (options.topics !== false) {
    const kafka = result.services.find((s) => s.name === 'kafka')
    result.topics =
      kafka?.state === 'running' ? await topicOffsets({ brokers: [kafka.address], retries: 1 }) : []
  }
  return result
}

/** Whether the given brokers (and lake, if any) are this running stack's own addresses. */
export function isThisStack(state: StackStateFile, external: { brokers: string[]; lake?: string }): boolean {
  const norm = (a: string) =>
    a
      .trim()
      .toLowerCase()
      .replace(/^localhost:/, '127.0.0.1:')
  const kafka = norm(state.addresses.kafka)
  if (!external.brokers.every((b) => norm(b) === kafka)) return false
  if (external.lake === undefined) return true
  try {
    const url = new URL(external.lake)
    return url.protocol === 'hdfs:' && norm(url.host) === norm(state.addresses.hdfs)
  } catch {
    return false
  }
}

/** What `game doctor` needs to know about the stack, without throwing. */
export async function stackHealth(
  dataDir: string,
  spawner: Spawner,
  hdfsUser?: string,
): Promise<{ state: StackStateFile | undefined; result?: StackStatusResult }> {
  const state = currentStack(dataDir, spawner, () => {})
  if (!state) return { state }
  return { state, result: await describeRunning(state, hdfsUser) }
}
