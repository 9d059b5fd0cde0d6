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

/** Writes all of `buffers` at `position` (writev may write less than asked). */
export async function writeAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let total = 0
  for (const b of buffers) total += b.length
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

/** Replaces `file` durably: write `file.tmp`, fsync, rename over `file`, fsync the directory. */
export async function writeFileDurable(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  await syncDir(path.dirname(file))
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true })
}
