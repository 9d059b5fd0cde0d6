import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'

/**
 * The stream's local scratch: one `game-stream-*` directory per run (its buffer and each flush's
 * Parquet files), holding the pid of its process so that a later run can remove what a killed one left.
 */
export const SCRATCH_PREFIX = 'game-stream-'

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes `game-stream-*` scratch directories under `tempDir` whose stream is gone (the pid it
 * wrote there no longer runs). Directories without a pid file (older versions) are left alone.
 * Returns the paths removed.
 */
export async function removeStaleScratch(
  tempDir: string,
  isAlive: (pid: number) => boolean = pidAlive,
): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = (await readdir(tempDir)).filter((n) => n.startsWith(SCRATCH_PREFIX))
  } catch {
    return removed
  }
  for (const name of names) {
    const dir = path.join(tempDir, name)
    const pid = Number.parseInt(await readFile(path.join(dir, 'pid'), 'utf8').catch(() => ''), 10)
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    removed.push(dir)
  }
  return removed
}
