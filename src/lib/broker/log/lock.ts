/**
 * An exclusive lock on a broker log directory, like Kafka's `.lock`: a `.lock` file created with
 * O_EXCL that holds the owner's pid. A lock whose pid no longer runs is stale and taken over; a
 * live one (including an earlier open in this same process) makes the open fail. Two brokers
 * appending to one log would interleave offsets and lose acknowledged data.
 */
import { open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { LogError } from './types.js'

export const LOCK_FILE = '.lock'

/** Directories locked by this process (a pid check cannot tell two opens in one process apart). */
const heldHere = new Set<string>()

export interface DirLock {
  readonly file: string
  release(): Promise<void>
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockedError(file: string, pid: number | string): LogError {
  return new LogError(
    'LOG_LOCKED',
    `the broker log in ${path.dirname(file)} is in use by process ${pid} (lock file ${file})`,
    `Stop that broker first (\`game down\`, or kill ${pid}). If no broker runs there, remove ${file}.`,
  )
}

/** Takes the lock on `dir` (which must exist) for process `pid`, or throws LogError('LOG_LOCKED'). */
export async function lockLogDir(dir: string, pid: number): Promise<DirLock> {
  const file = path.join(path.resolve(dir), LOCK_FILE)
  if (heldHere.has(file)) throw lockedError(file, pid)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx')
      try {
        await fh.writeFile(`${pid}\n`)
        await fh.sync()
      } finally {
        await fh.close()
      }
      heldHere.add(file)
      let released = false
      return {
        file,
        async release() {
          if (released) return
          released = true
          heldHere.delete(file)
          await rm(file, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const text = await readFile(file, 'utf8').catch(() => '')
    const owner = Number.parseInt(text.trim(), 10)
    // An empty file: the owner is between create and write; treat as held.
    if (text.trim() === '' || (owner !== pid && alive(owner)))
      throw lockedError(file, text.trim() || 'unknown')
    // Stale (its owner died, or it is our own pid left by an earlier process that had it) without releasing it): remove and try again.
    await rm(file, { force: true })
  }
  throw lockedError(file, 'unknown')
}
