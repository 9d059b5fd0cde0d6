import { mkdirSync } from 'node:fs'
import { toGameError } from '../errors.js'
import type { DaemonMessage } from './spawner.js'
import { removeState, type StackStateFile, writeState } from './state.js'
import { type RunningService, startServices, stopServices } from './supervisor.js'
import type { ServiceSpec } from './types.js'

export interface DaemonOptions {
  dataDir: string
  /** This process's pid (recorded in the state file). */
  pid: number
  services: ServiceSpec[]
  /** Aborted on SIGTERM/SIGINT: the daemon stops its services and returns. */
  signal: AbortSignal
  /** Tells `game up` how starting went (IPC). */
  notify: (message: DaemonMessage) => void
  log: (line: string) => void
  now?: () => Date
  /** The address the services listen on (recorded so that status shows the real exposure). */
  bind?: string
}

/** Pure: the state file a daemon writes once its services listen. */
export function daemonState(
  dataDir: string,
  pid: number,
  running: Array<{ name: string; address: string }>,
  now: Date,
  bind?: string,
): StackStateFile {
  const find = (name: string) => running.find((s) => s.name === name)?.address ?? ''
  return {
    version: 1,
    mode: 'embedded',
    pid,
    startedAt: now.toISOString(),
    dataDir,
    services: running.map((s) => ({ name: s.name, address: s.address, pid })),
    addresses: { kafka: find('kafka'), hdfs: find('hdfs') },
    ...(bind === undefined ? {} : { bind }),
  }
}

/**
 * The embedded stack's background process: starts every service, records the state file, tells
 * `game up`, then runs until its signal aborts; then closes every service and removes the state
 * file. A start failure is reported to `game up` and rethrown (the process then exits non-zero).
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const { dataDir, pid, log } = options
  mkdirSync(dataDir, { recursive: true })
  log(`daemon ${pid} starting (data dir ${dataDir})`)
  let running: RunningService[]
  try {
    running = await startServices(options.services, log)
  } catch (error) {
    const e = toGameError(error)
    log(`start failed: ${e.message}`)
    options.notify({
      type: 'error',
      error: { code: e.code, message: e.message, hint: e.hint, exitCode: e.exitCode },
    })
    throw e
  }
  writeState(dataDir, daemonState(dataDir, pid, running, (options.now ?? (() => new Date()))(), options.bind))
  options.notify({ type: 'ready', pid, services: running.map((s) => ({ name: s.name, address: s.address })) })
  log(`daemon ${pid} ready: ${running.map((s) => `${s.name}=${s.address}`).join(' ')}`)

  if (!options.signal.aborted) {
    await new Promise<void>((resolve) =>
      options.signal.addEventListener('abort', () => resolve(), { once: true }),
    )
  }
  log('stopping')
  const errors = await stopServices(running, log)
  removeState(dataDir, pid)
  log(errors.length === 0 ? 'stopped cleanly' : `stopped with ${errors.length} error(s)`)
}
