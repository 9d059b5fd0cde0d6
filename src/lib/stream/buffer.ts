import { type FileHandle, mkdir, open, rm } from 'node:fs/promises'
import path from 'node:path'
import { writeAll } from '../broker/log/files.js'
import type { TableName } from '../events/catalog.js'
import type { LineWriter } from './encode.js'

/**
 * The micro-batch buffer. Rows are NDJSON lines per (partition, table, dt): encoded as UTF-8 into
 * off-heap chunks as they arrive (the line strings die young, which keeps GC cheap) until the end of
 * the Kafka batch, then spilled (appended) to local files, so memory holds one batch, not a whole
 * flush, and a revoked partition's rows can be dropped. A flush `cut()`s the
 * current generation synchronously (consistent with the offsets it snapshots at the same moment)
 * and `finish()`es it into per-(table, dt) file lists for one DuckDB COPY each.
 */
interface Group {
  partition: number
  table: TableName
  dt: string
  /** Lines in the encoder's CSV format (else NDJSON): one file per format. */
  csv: boolean
  file: string
  /** Filled chunks not yet spilled (bytes [0, end)), then the one being filled (bytes [0, pos)). */
  full: { buf: Buffer; end: number }[]
  cur: Buffer | undefined
  pos: number
  /** The buffer's free chunks, shared by its groups. */
  pool: Buffer[]
  /** The group's file, open from its first spill until the generation is finished. */
  fh: Promise<FileHandle> | undefined
  /** Bytes written to the file so far (where the next spill goes). */
  written: number
  /** The group's writes, in order (groups write in parallel). */
  io: Promise<void>
  rows: number
  bytes: number
}

export interface Generation {
  readonly dir: string
  readonly groups: Map<string, Group>
  io: Promise<void>
  rows: number
  bytes: number
}

export interface TableFiles {
  table: TableName
  dt: string
  /** NDJSON files. */
  files: string[]
  /** Files of CSV lines (MessageEncoder's format). */
  csvFiles: string[]
  rows: number
  bytes: number
}

/** Bytes per chunk; a line longer than that gets a chunk of its own size. */
const CHUNK = 256 * 1024

/**
 * Free chunks kept for reuse. Written chunks go back to the pool instead of waiting for a major GC
 * (off-heap memory the GC does not see as pressure soon enough): keeps RSS flat.
 */
const POOL_MAX = 32

/** Makes room for `need` more bytes in a group's current chunk. */
function reserve(g: Group, need: number): Buffer {
  const cur = g.cur
  if (cur !== undefined && g.pos + need <= cur.length) return cur
  if (cur !== undefined) {
    if (g.pos > 0) g.full.push({ buf: cur, end: g.pos })
    else recycle(g.pool, cur)
  }
  const next = need <= CHUNK ? (g.pool.pop() ?? Buffer.allocUnsafe(CHUNK)) : Buffer.allocUnsafe(need)
  g.cur = next
  g.pos = 0
  return next
}

function recycle(pool: Buffer[], buf: Buffer): void {
  if (buf.length === CHUNK && pool.length < POOL_MAX) pool.push(buf)
}

/** Appends one line (and its newline) to a group's chunks; returns the bytes written. */
function put(g: Group, line: string | LineWriter): number {
  if (typeof line !== 'string') {
    const cur = reserve(g, line.size + 1)
    const end = line.write(cur, g.pos)
    cur[end] = 10
    const n = end + 1 - g.pos
    g.pos = end + 1
    return n
  }
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const cur = reserve(g, line.length * 3 + 1)
  const n = cur.write(line, g.pos)
  cur[g.pos + n] = 10
  g.pos += n + 1
  return n + 1
}

/** Appends the last `n` bytes `from` got to `to` (a line landing in a second table: copied, not encoded again). */
function putCopy(from: Group, n: number, to: Group): void {
  const cur = reserve(to, n)
  ;(from.cur as Buffer).copy(cur, to.pos, from.pos - n, from.pos)
  to.pos += n
}

export class RowBuffer {
  private gen: Generation
  private n = 0
  private readonly pool: Buffer[] = []

  constructor(private readonly root: string) {
    this.gen = this.newGeneration()
  }

  private newGeneration(): Generation {
    const dir = path.join(this.root, `gen-${this.n++}`)
    return {
      dir,
      groups: new Map(),
      io: mkdir(dir, { recursive: true }).then(() => undefined),
      rows: 0,
      bytes: 0,
    }
  }

  /** Rows buffered in the current generation (memory and spilled). */
  get rows(): number {
    return this.gen.rows
  }

  /** Bytes of NDJSON buffered in the current generation (string length, ≈ bytes for ASCII-heavy events). */
  get bytes(): number {
    return this.gen.bytes
  }

  get isEmpty(): boolean {
    return this.gen.rows === 0
  }

  /**
   * The groups of the last (partition, dt) added to, per table and format: a fetch is mostly one
   * partition and one day at a time.
   */
  private recent:
    | { partition: number; dt: string; groups: Map<TableName, Group>; csvGroups: Map<TableName, Group> }
    | undefined

  /**
   * Adds one already-encoded line (see MessageEncoder: CSV, or the row's JSON with `__p`/`__o`;
   * text, or a writer of its bytes) to each of its tables under one dt.
   */
  addLine(
    partition: number,
    tables: readonly TableName[],
    dt: string,
    line: string | LineWriter,
    csv = false,
  ): void {
    const gen = this.gen
    let recent = this.recent
    if (!recent || recent.partition !== partition || recent.dt !== dt) {
      recent = { partition, dt, groups: new Map(), csvGroups: new Map() }
      this.recent = recent
    }
    const groups = csv ? recent.csvGroups : recent.groups
    const size = (typeof line === 'string' ? line.length : line.size) + 1
    let first: Group | undefined
    let written = 0
    for (const table of tables) {
      let g = groups.get(table)
      if (!g) {
        g = this.group(partition, table, dt, csv)
        groups.set(table, g)
      }
      if (first === undefined) {
        written = put(g, line)
        first = g
      } else putCopy(first, written, g)
      g.rows += 1
      g.bytes += size
      gen.rows += 1
      gen.bytes += size
    }
  }

  private group(partition: number, table: TableName, dt: string, csv: boolean): Group {
    const gen = this.gen
    const key = `${partition}\u0000${table}\u0000${dt}\u0000${csv ? 'c' : 'j'}`
    let g = gen.groups.get(key)
    if (!g) {
      g = {
        partition,
        table,
        dt,
        csv,
        file: path.join(gen.dir, `p${partition}-${table}-${dt}.${csv ? 'csv' : 'ndjson'}`),
        full: [],
        cur: undefined,
        pos: 0,
        pool: this.pool,
        fh: undefined,
        written: 0,
        io: gen.io,
        rows: 0,
        bytes: 0,
      }
      gen.groups.set(key, g)
    }
    return g
  }

  /**
   * Appends what is in memory to the generation's files; resolves when written. One writev per
   * group, the groups in parallel, each group's file opened once per generation.
   */
  spill(gen: Generation = this.gen): Promise<void> {
    const writes: Promise<void>[] = [gen.io]
    for (const g of gen.groups.values()) {
      const chunks = g.full
      if (g.cur !== undefined && g.pos > 0) {
        chunks.push({ buf: g.cur, end: g.pos })
        g.cur = undefined
        g.pos = 0
      }
      if (chunks.length === 0) continue
      g.full = []
      g.io = g.io.then(async () => {
        g.fh ??= open(g.file, 'w')
        const views = chunks.map(({ buf, end }) => buf.subarray(0, end))
        g.written += await writeAll(await g.fh, views, g.written)
        for (const { buf } of chunks) recycle(g.pool, buf)
      })
      writes.push(g.io)
    }
    gen.io = Promise.all(writes).then(() => undefined)
    return gen.io
  }

  /** Closes the generation's open files (after its writes). */
  private async closeFiles(gen: Generation): Promise<void> {
    await Promise.all(
      [...gen.groups.values()].map(async (g) => {
        const fh = g.fh
        g.fh = undefined
        if (fh) await (await fh).close()
      }),
    )
  }

  /** Drops what a partition buffered (revoked: its new owner reads it again from the lake's offsets). */
  dropPartition(partition: number): number {
    const gen = this.gen
    this.recent = undefined
    let dropped = 0
    for (const [key, g] of gen.groups) {
      if (g.partition !== partition) continue
      gen.groups.delete(key)
      gen.rows -= g.rows
      gen.bytes -= g.bytes
      dropped += g.rows
      const fh = g.fh
      g.fh = undefined
      gen.io = Promise.all([gen.io, g.io])
        .then(async () => {
          if (fh) await (await fh).close()
        })
        .then(() => rm(g.file, { force: true }))
    }
    return dropped
  }

  /** Starts a new generation and returns the old one (synchronous: the cut point of a flush). */
  cut(): Generation {
    const old = this.gen
    this.gen = this.newGeneration()
    this.recent = undefined
    return old
  }

  /** Writes out a cut generation and lists its files per (table, dt). */
  async finish(gen: Generation): Promise<TableFiles[]> {
    await this.spill(gen)
    await this.closeFiles(gen)
    const merged = new Map<string, TableFiles>()
    for (const g of gen.groups.values()) {
      const key = `${g.table}\u0000${g.dt}`
      let m = merged.get(key)
      if (!m) {
        m = { table: g.table, dt: g.dt, files: [], csvFiles: [], rows: 0, bytes: 0 }
        merged.set(key, m)
      }
      if (g.csv) m.csvFiles.push(g.file)
      else m.files.push(g.file)
      m.rows += g.rows
      m.bytes += g.bytes
    }
    return [...merged.values()].sort((a, b) => a.table.localeCompare(b.table) || a.dt.localeCompare(b.dt))
  }

  /** Deletes a finished generation's files. */
  async discard(gen: Generation): Promise<void> {
    await gen.io.catch(() => undefined)
    await this.closeFiles(gen).catch(() => undefined)
    await rm(gen.dir, { recursive: true, force: true })
  }
}
