import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { STATE_FILE } from '../config.js'
import type { StackMode } from './types.js'

/**
 * `<dataDir>/stack.json`: what `game up` leaves behind so every other command finds the stack.
 * src/lib/config.ts reads `addresses`.
 */
export interface StackStateFile {
  version: 1
  mode: StackMode
  /** The daemon's pid (embedded mode only). */
  pid?: number
  startedAt: string
  dataDir: string
  /** docker mode: the compose file that was brought up. */
  composeFile?: string
  services: Array<{ name: string; address: string; pid?: number }>
  /** embedded mode: the address the services listen on (`bind`), when it is not loopback's default. */
  bind?: string
  addresses: { kafka: string; hdfs: string; datanode?: string; api?: string }
}

export function statePath(dataDir: string): string {
  return path.join(dataDir, STATE_FILE)
}

export function logDir(dataDir: string): string {
  return path.join(dataDir, 'logs')
}

export function stackLogPath(dataDir: string): string {
  return path.join(logDir(dataDir), 'stack.log')
}

/** Reads the state file; undefined when absent or unreadable (a corrupt file counts as no stack). */
export function readState(dataDir: string): StackStateFile | undefined {
  let text: string
  try {
    text = readFileSync(statePath(dataDir), 'utf8')
  } catch {
    return undefined
  }
  try {
    const parsed = JSON.parse(text) as StackStateFile
    if (!parsed || (parsed.mode !== 'embedded' && parsed.mode !== 'docker')) return undefined
    return parsed
  } catch {
    return undefined
  }
}

/** Writes the state file atomically (temp file + rename), so readers never see half a file. */
export function writeState(dataDir: string, state: StackStateFile): void {
  mkdirSync(dataDir, { recursive: true })
  const file = statePath(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(tmp, file)
}

/** Removes the state file; when `onlyPid` is given, only if it still belongs to that pid. */
export function removeState(dataDir: string, onlyPid?: number): boolean {
  if (onlyPid !== undefined) {
    const current = readState(dataDir)
    if (!current || current.pid !== onlyPid) return false
  }
  try {
    rmSync(statePath(dataDir))
    return true
  } catch {
    return false
  }
}

export type StateAssessment =
  | { kind: 'none' }
  | { kind: 'running'; state: StackStateFile }
  | { kind: 'stale'; state: StackStateFile; reason: string }

/**
 * Decides what a state file means. Embedded: running iff the daemon pid is alive. Docker: the
 * state file is trusted (containers outlive processes); probes tell whether they answer.
 */
export function assessState(
  state: StackStateFile | undefined,
  isAlive: (pid: number) => boolean,
): StateAssessment {
  if (!state) return { kind: 'none' }
  if (state.mode === 'docker') return { kind: 'running', state }
  if (typeof state.pid !== 'number' || !Number.isInteger(state.pid) || state.pid <= 0) {
    return { kind: 'stale', state, reason: 'the state file has no daemon pid' }
  }
  if (!isAlive(state.pid)) return { kind: 'stale', state, reason: `daemon pid ${state.pid} is not running` }
  return { kind: 'running', state }
}
