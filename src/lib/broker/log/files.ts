/**
 * File plumbing for the log: a bounded cache of open file handles (so a broker with many partitions
 * and segments never runs out of descriptors), durable whole-file replacement, and full writes/reads.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import path from 'node:path'

interface CacheEntry {
  handle: Promise<FileHandle>
  refs: number
}

export interface FileLease {
  readonly fh: FileHandle
  release(): void
}

/**
 * At most `maxOpen` idle handles stay open (least recently used closed first). Handles in use are
 * never closed under their user; all files are opened read-write ('r+'), so they must exist.
 */
export class FileCache {
  /** Insertion order = LRU order (re-inserted on use). */
  private readonly entries = new Map<string, CacheEntry>()

  constructor(private readonly maxOpen: number) {}

  async acquire(file: string): Promise<FileLease> {
    let entry = this.entries.get(file)
    if (entry) {
      this.entries.delete(file)
    } else {
      entry = { handle: open(file, 'r+'), refs: 0 }
      // A failed open must not stay cached.
      entry.handle.catch(() => {
        if (this.entries.get(file) === entry) this.entries.delete(file)
      })
    }
    this.entries.set(file, entry)
    entry.refs++
    const e = entry
    let fh: FileHandle
    try {
      fh = await e.handle
    } catch (err) {
      e.refs--
      throw err
    }
    this.evictIdle()
    let released = false
    return {
      fh,
      release: () => {
        if (released) return
        released = true
        e.refs--
        if (e.refs === 0 && this.entries.get(file) !== e) void closeEntry(e)
        else this.evictIdle()
      },
    }
  }

  /**
   * Forgets the handle of `file` and closes it once its current users release it: call before
   * deleting it.
   */
  async forget(file: string): Promise<void> {
    const entry = this.entries.get(file)
    if (!entry) return
    this.entries.delete(file)
    if (entry.refs === 0) await closeEntry(entry)
  }

  /** Closes every handle. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()]
    this.entries.clear()
    await Promise.all(all.map(closeEntry))
  }

  get openCount(): number {
    return this.entries.size
  }

  private evictIdle(): void {
    if (this.entries.size <= this.maxOpen) return
    for (const [file, entry] of this.entries) {
      if (this.entries.size <= this.maxOpen) break
      if (entry.refs > 0) continue
      this.entries.delete(file)
      void closeEntry(entry)
    }
  }
}

async function closeEntry(e: CacheEntry): Promise<void> {
  const fh = await e.handle.catch(() => undefined)
  await fh?.close().catch(() => undefined)
}

/**
 * A test hook in the log's writes (segments, indexes, offsets, topics.json): before each write of
 * `length` bytes to `file` it says how many of them may reach the disk; fewer than `length` writes
 * that many and then fails with ENOSPC, as a full disk does (a torn write).
 */
export interface WriteFaults {
  allow(file: string, length: number): number
}

/**
 * WriteFaults with a byte budget, like a small disk: writes use it up, and the write that crosses
 * it writes what fits and fails with ENOSPC. fill() leaves no room, free() removes the limit.
 */
export class DiskBudget implements WriteFaults {
  /** Writes refused so far (each ENOSPC). */
  refused = 0
  constructor(private remaining = Number.POSITIVE_INFINITY) {}
  allow(_file: string, length: number): number {
    const n = Math.min(length, this.remaining)
    this.remaining -= n
    if (n < length) this.refused++
    return n
  }
  fill(leftBytes = 0): void {
    this.remaining = leftBytes
  }
  free(): void {
    this.remaining = Number.POSITIVE_INFINITY
  }
}

/** The error a full disk gives (what fs calls throw: code ENOSPC, errno -28). */
export function noSpaceError(file: string): NodeJS.ErrnoException {
  const e = new Error(`ENOSPC: no space left on device, write '${file}'`) as NodeJS.ErrnoException
  e.code = 'ENOSPC'
  e.errno = -28
  e.syscall = 'write'
  return e
}

/** Applies `faults` to a write of `data` at `position`: writes what is allowed, throws ENOSPC if not all. */
async function faultyWrite(
  fh: FileHandle,
  data: Buffer,
  position: number,
  file: string,
  faults: WriteFaults,
): Promise<void> {
  const n = faults.allow(file, data.length)
  if (n > 0) await writeAll(fh, [data.subarray(0, n)], position)
  if (n < data.length) throw noSpaceError(file)
}

/** Writes all of `buffers` at `position` (writev may write less than asked). */
export async function writeAll(
  fh: FileHandle,
  buffers: Buffer[],
  position: number,
  faults?: { file: string; faults: WriteFaults },
): Promise<number> {
  let total = 0
  for (const b of buffers) total += b.length
  if (faults) {
    await faultyWrite(fh, Buffer.concat(buffers, total), position, faults.file, faults.faults)
    return total
  }
  let written = (await fh.writev(buffers, position)).bytesWritten
  if (written < total) {
    const rest = Buffer.concat(buffers).subarray(written)
    let off = 0
    while (off < rest.length) {
      const { bytesWritten } = await fh.write(rest, off, rest.length - off, position + written + off)
      off += bytesWritten
    }
    written = total
  }
  return total
}

/** Reads exactly `length` bytes at `position` into a new buffer (shorter only at end of file). */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let off = 0
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off)
    if (bytesRead === 0) break
    off += bytesRead
  }
  return off === length ? buf : buf.subarray(0, off)
}

/** fsyncs a directory so that created, renamed or deleted entries in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Writes a whole new file (created or emptied) and fdatasyncs it (fsyncs with `fullSync`); with
 * `faults`, through the hook.
 */
export async function writeNewFile(
  file: string,
  data: Buffer,
  faults?: WriteFaults,
  fullSync = false,
): Promise<void> {
  const fh = await open(file, 'w')
  try {
    if (faults) await faultyWrite(fh, data, 0, file, faults)
    else await fh.writeFile(data)
    if (fullSync) await fh.sync()
    else await fh.datasync()
  } finally {
    await fh.close()
  }
}

/**
 * Replaces `file` durably: write `file.tmp`, fsync, rename over `file`, fsync the directory. A
 * failed write (a full disk) removes the tmp file again and leaves `file` as it was.
 */
export async function writeFileDurable(
  file: string,
  data: Buffer | string,
  faults?: WriteFaults,
): Promise<void> {
  const tmp = `${file}.tmp`
  try {
    await writeNewFile(tmp, typeof data === 'string' ? Buffer.from(data) : data, faults, true)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
  await rename(tmp, file)
  await syncDir(path.dirname(file))
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true })
}
