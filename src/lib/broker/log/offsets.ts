/**
 * Committed consumer-group offsets and group generations, in an append-only log
 * `<dir>/offsets.log` of frames [len u32][crc32c u32 of payload][payload = JSON]. Replayed at open up
 * to the first bad frame (the torn tail is cut off), compacted (snapshot written to a tmp file,
 * fsynced, renamed over the log) once it grows past a threshold. Every write is one fdatasync;
 * concurrent writes share it.
 */
import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { crc32c } from '../../protocol/crc32c.js'
import { syncDir, type WriteFaults, writeAll, writeNewFile } from './files.js'
import { isNoSpace, type StorageHealthTracker } from './health.js'
import { type CommittedOffset, type GroupOffsetStore, LogError } from './types.js'

const FRAME_HEADER = 8
const MAX_FRAME = 64 * 1024 * 1024

/** [topic, partition, offset (decimal string), metadata, commitTimestamp] */
type OffsetTuple = [string, number, string, string | null, number]

type Record_ =
  | { k: 'c'; g: string; e: OffsetTuple[] }
  | { k: 'g'; g: string; n: number }
  | { k: 'dt'; t: string }
  | { k: 'dg'; g: string }

interface GroupState {
  offsets: Map<string, { topic: string; partition: number; value: CommittedOffset }>
  generation: number
}

export interface GroupOffsetStoreOptions {
  /** Compact once the log exceeds this many bytes (default 4 MiB; it grows with the live state). */
  compactBytes?: number
  /** Told about failed and working writes (the log manager's storage health). */
  health?: StorageHealthTracker
  /** Test hook: simulated write failures. */
  faults?: WriteFaults
}

export interface OffsetStoreStats {
  fileBytes: number
  compactions: number
  /** Bytes cut off the tail at open (a torn or corrupt frame). */
  truncatedBytes: number
}

interface PendingWrite {
  frame: Buffer
  record: Record_
  resolve: () => void
  reject: (e: unknown) => void
}

export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.writeUInt32BE(crc32c(payload), 4)
  payload.copy(frame, FRAME_HEADER)
  return frame
}

/** Payloads of the whole, valid frames at the start of `buf`, and where they end. */
export function decodeFrames(buf: Buffer): { payloads: Buffer[]; validBytes: number } {
  const payloads: Buffer[] = []
  let pos = 0
  while (pos + FRAME_HEADER <= buf.length) {
    const len = buf.readUInt32BE(pos)
    if (len > MAX_FRAME || pos + FRAME_HEADER + len > buf.length) break
    const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len)
    if (crc32c(payload) !== buf.readUInt32BE(pos + 4)) break
    payloads.push(payload)
    pos += FRAME_HEADER + len
  }
  return { payloads, validBytes: pos }
}

const key = (topic: string, partition: number) => `${partition}:${topic}`

export class FileGroupOffsetStore implements GroupOffsetStore {
  private readonly groupsMap = new Map<string, GroupState>()
  private fh: FileHandle | null = null
  private fileBytes = 0
  private threshold: number
  private compactions = 0
  private truncatedBytes = 0
  private pending: PendingWrite[] = []
  private writing = false
  private idleWaiters: (() => void)[] = []
  private closed = false

  private constructor(
    private readonly dir: string,
    private readonly baseThreshold: number,
    private readonly options: GroupOffsetStoreOptions,
  ) {
    this.threshold = baseThreshold
  }

  static async open(dir: string, options: GroupOffsetStoreOptions = {}): Promise<FileGroupOffsetStore> {
    const store = new FileGroupOffsetStore(dir, options.compactBytes ?? 4 * 1024 * 1024, options)
    await store.load()
    return store
  }

  get file(): string {
    return path.join(this.dir, 'offsets.log')
  }

  stats(): OffsetStoreStats {
    return { fileBytes: this.fileBytes, compactions: this.compactions, truncatedBytes: this.truncatedBytes }
  }

  commit(group: string, topic: string, partition: number, value: CommittedOffset): Promise<void> {
    return this.commitMany(group, [{ topic, partition, value }])
  }

  commitMany(
    group: string,
    entries: { topic: string; partition: number; value: CommittedOffset }[],
  ): Promise<void> {
    if (entries.length === 0) return Promise.resolve()
    return this.write({
      k: 'c',
      g: group,
      e: entries.map((x) => [
        x.topic,
        x.partition,
        x.value.offset.toString(),
        x.value.metadata,
        x.value.commitTimestamp,
      ]),
    })
  }

  fetch(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groupsMap.get(group)?.offsets.get(key(topic, partition))?.value
  }

  fetchAll(group: string): { topic: string; partition: number; value: CommittedOffset }[] {
    const g = this.groupsMap.get(group)
    return g ? [...g.offsets.values()].map((e) => ({ ...e })) : []
  }

  groups(): string[] {
    return [...this.groupsMap.keys()]
  }

  lastGeneration(group: string): number {
    return this.groupsMap.get(group)?.generation ?? 0
  }

  setGeneration(group: string, generation: number): Promise<void> {
    return this.write({ k: 'g', g: group, n: generation })
  }

  deleteTopic(topic: string): Promise<void> {
    return this.write({ k: 'dt', t: topic })
  }

  deleteGroup(group: string): Promise<void> {
    return this.write({ k: 'dg', g: group })
  }

  /** Waits for pending writes, then closes the file. */
  async close(): Promise<void> {
    this.closed = true
    await this.idle()
    await this.fh?.close()
    this.fh = null
  }

  // ---- internals --------------------------------------------------------------------------

  private write(record: Record_): Promise<void> {
    if (this.closed) return Promise.reject(new LogError('STORAGE_ERROR', 'the group offset store is closed'))
    const frame = encodeFrame(Buffer.from(JSON.stringify(record)))
    return new Promise((resolve, reject) => {
      this.pending.push({ frame, record, resolve, reject })
      if (!this.writing) {
        this.writing = true
        void this.drain()
      }
    })
  }

  private idle(): Promise<void> {
    if (!this.writing) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending
        this.pending = []
        try {
          const data = batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((b) => b.frame))
          const fh = this.fh!
          const faults = this.options.faults
          await writeAll(fh, [data], this.fileBytes, faults ? { file: this.file, faults } : undefined)
          await fh.datasync()
          this.fileBytes += data.length
        } catch (err) {
          const e = new LogError('STORAGE_ERROR', `writing group offsets failed: ${(err as Error).message}`)
          // A torn frame must not stay behind the last good one: cut the file back (a full disk
          // has room for a truncate). The next write goes at the same place again.
          await this.fh?.truncate(this.fileBytes).catch(() => undefined)
          this.options.health?.failed('__groups', e.message, isNoSpace(err))
          this.options.health?.refused(batch.length)
          for (const b of batch) b.reject(e)
          continue
        }
        this.options.health?.wrote('__groups')
        for (const b of batch) this.apply(b.record)
        for (const b of batch) b.resolve()
        if (this.fileBytes > this.threshold) {
          try {
            await this.compact()
          } catch {
            // The uncompacted log is still complete; try again after the next write.
          }
        }
      }
    } finally {
      this.writing = false
      const w = this.idleWaiters
      this.idleWaiters = []
      for (const f of w) f()
    }
  }

  private apply(r: Record_): void {
    if (r.k === 'dt') {
      for (const g of this.groupsMap.values())
        for (const [k, e] of g.offsets) if (e.topic === r.t) g.offsets.delete(k)
      return
    }
    if (r.k === 'dg') {
      this.groupsMap.delete(r.g)
      return
    }
    let g = this.groupsMap.get(r.g)
    if (!g) {
      g = { offsets: new Map(), generation: 0 }
      this.groupsMap.set(r.g, g)
    }
    if (r.k === 'g') {
      g.generation = r.n
      return
    }
    for (const [topic, partition, offset, metadata, commitTimestamp] of r.e) {
      g.offsets.set(key(topic, partition), {
        topic,
        partition,
        value: { offset: BigInt(offset), metadata, commitTimestamp },
      })
    }
  }

  /** The live state as frames: per group its generation and all its offsets. */
  private snapshot(): Buffer {
    const frames: Buffer[] = []
    for (const [g, state] of this.groupsMap) {
      if (state.generation !== 0)
        frames.push(encodeFrame(Buffer.from(JSON.stringify({ k: 'g', g, n: state.generation }))))
      if (state.offsets.size > 0) {
        const e: OffsetTuple[] = [...state.offsets.values()].map((x) => [
          x.topic,
          x.partition,
          x.value.offset.toString(),
          x.value.metadata,
          x.value.commitTimestamp,
        ])
        frames.push(encodeFrame(Buffer.from(JSON.stringify({ k: 'c', g, e }))))
      }
    }
    return Buffer.concat(frames)
  }

  private async compact(): Promise<void> {
    const snap = this.snapshot()
    const tmp = `${this.file}.tmp`
    try {
      await writeNewFile(tmp, snap, this.options.faults, true)
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw err
    }
    await this.fh?.close()
    this.fh = null
    let renamed = false
    try {
      await rename(tmp, this.file)
      renamed = true
      await syncDir(this.dir)
    } finally {
      // Whatever failed, writes go on: to the snapshot if it is in place, else to the old log.
      if (!renamed) await rm(tmp, { force: true }).catch(() => undefined)
      this.fh = await open(this.file, 'r+')
      if (renamed) {
        this.fileBytes = snap.length
        this.threshold = Math.max(this.baseThreshold, snap.length * 2)
        this.compactions++
      }
    }
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    let buf: Buffer
    try {
      buf = await readFile(this.file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      buf = Buffer.alloc(0)
      await (await open(this.file, 'w')).close()
      await syncDir(this.dir)
    }
    const { payloads } = decodeFrames(buf)
    let applied = 0
    for (const p of payloads) {
      let r: Record_
      try {
        r = JSON.parse(p.toString('utf8')) as Record_
      } catch {
        break
      }
      this.apply(r)
      applied += FRAME_HEADER + p.length
    }
    this.fh = await open(this.file, 'r+')
    if (applied < buf.length) {
      this.truncatedBytes = buf.length - applied
      await this.fh.truncate(applied)
      await this.fh.sync()
    }
    this.fileBytes = applied
  }
}
