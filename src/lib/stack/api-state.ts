import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * `<dataDir>/api.json`: a running `game api` says where it listens, so that `game status` lists it
 * and other commands find it. Written when the API listens, removed when it stops; a file whose pid
 * is gone (a crash) counts as no API.
 */
export interface ApiStateFile {
  pid: number
  url: string
  startedAt: string
}

const API_STATE_FILE = 'api.json'

export function apiStatePath(dataDir: string): string {
  return path.join(dataDir, API_STATE_FILE)
}

export function writeApiState(dataDir: string, state: ApiStateFile): void {
  mkdirSync(dataDir, { recursive: true })
  const file = apiStatePath(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(tmp, file)
}

/** The running API's state, or undefined (absent, unreadable, or its pid is gone). */
export function readApiState(dataDir: string, isAlive: (pid: number) => boolean): ApiStateFile | undefined {
  try {
    const state = JSON.parse(readFileSync(apiStatePath(dataDir), 'utf8')) as ApiStateFile
    if (!Number.isInteger(state?.pid) || typeof state.url !== 'string') return undefined
    return isAlive(state.pid) ? state : undefined
  } catch {
    return undefined
  }
}

/** Removes the file if it is still this pid's. */
export function removeApiState(dataDir: string, pid: number): void {
  try {
    const state = JSON.parse(readFileSync(apiStatePath(dataDir), 'utf8')) as ApiStateFile
    if (state.pid === pid) rmSync(apiStatePath(dataDir), { force: true })
  } catch {
    // absent or unreadable: nothing of ours to remove
  }
}
