import type { TableName } from '../events/catalog.js'
import type { RoutedRow } from '../events/route.js'

/**
 * The micro-batch buffer: rows kept as NDJSON lines per (partition, table, dt), so a flush writes
 * them with one DuckDB COPY per (table, dt) and a revoked partition's rows can be dropped. Pure.
 */
export interface BufferGroup {
  table: TableName
  dt: string
  lines: string[]
  bytes: number
}

interface PartitionBuffer {
  groups: Map<string, BufferGroup>
  rows: number
  bytes: number
}

export interface TableBatch {
  table: TableName
  dt: string
  lines: string[]
  rows: number
  bytes: number
}

export class RowBuffer {
  private partitions = new Map<number, PartitionBuffer>()
  private _rows = 0
  private _bytes = 0

  get rows(): number {
    return this._rows
  }

  /** Bytes of NDJSON held (UTF-16 length, a close upper-bound proxy for ASCII-heavy events). */
  get bytes(): number {
    return this._bytes
  }

  get isEmpty(): boolean {
    return this._rows === 0
  }

  /** Adds the rows of one routed message. A row landing in two tables is serialized once. */
  add(partition: number, rows: RoutedRow[]): void {
    if (rows.length === 0) return
    let p = this.partitions.get(partition)
    if (!p) {
      p = { groups: new Map(), rows: 0, bytes: 0 }
      this.partitions.set(partition, p)
    }
    let lastRow: RoutedRow['row'] | undefined
    let line = ''
    for (const { table, row } of rows) {
      if (row !== lastRow) {
        line = JSON.stringify(row)
        lastRow = row
      }
      const dt = String(row.dt)
      const key = `${table}\u0000${dt}`
      let g = p.groups.get(key)
      if (!g) {
        g = { table, dt, lines: [], bytes: 0 }
        p.groups.set(key, g)
      }
      g.lines.push(line)
      g.bytes += line.length + 1
      p.rows += 1
      p.bytes += line.length + 1
      this._rows += 1
      this._bytes += line.length + 1
    }
  }

  /** Drops what a partition buffered (it was revoked; its new owner reads it again from the lake's offsets). */
  dropPartition(partition: number): number {
    const p = this.partitions.get(partition)
    if (!p) return 0
    this.partitions.delete(partition)
    this._rows -= p.rows
    this._bytes -= p.bytes
    return p.rows
  }

  /** Takes everything buffered, merged across partitions per (table, dt), and empties the buffer. */
  drain(): TableBatch[] {
    const merged = new Map<string, TableBatch>()
    for (const p of this.partitions.values()) {
      for (const [key, g] of p.groups) {
        let m = merged.get(key)
        if (!m) {
          m = { table: g.table, dt: g.dt, lines: [], rows: 0, bytes: 0 }
          merged.set(key, m)
        }
        for (const l of g.lines) m.lines.push(l)
        m.rows += g.lines.length
        m.bytes += g.bytes
      }
    }
    this.partitions.clear()
    this._rows = 0
    this._bytes = 0
    return [...merged.values()].sort((a, b) => a.table.localeCompare(b.table) || a.dt.localeCompare(b.dt))
  }
}
