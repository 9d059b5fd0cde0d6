import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { eventTypeSpec, type TableName, tableColumns } from '../../src/lib/events/catalog.js'
import {
  COMMITS_DIR,
  type CommitRecord,
  type CommittedFile,
  commitRecordPath,
  dataFilePath,
  parseCommitRecordName,
} from '../../src/lib/lake/layout.js'
import { openLake } from '../../src/lib/lake/open.js'
import type { Lake } from '../../src/lib/lake/types.js'

/**
 * Test lakes built from known events: Parquet files written by DuckDB with the catalog's columns,
 * under <table>/dt=YYYY-MM-DD/, published with commit records as layout.ts describes.
 */

export interface FixtureEvent {
  type: string
  host: string
  /** ISO time, UTC. */
  ts: string
  amount?: number
  description?: string
  guild_name?: string
  cancel_reason?: string
  message_post?: string
}

/** A file:// lake over a local directory, through the product's adapter. */
export function fileLake(root: string): Lake {
  return openLake(pathToFileURL(root).href, { hdfsUser: 'game' })
}

export async function tempDir(prefix = 'game-report-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix))
}

function rowFor(table: TableName, e: FixtureEvent): Record<string, unknown> {
  const eventId = randomUUID()
  const fields: Record<string, unknown> = {
    event_type: e.type,
    ...(e.amount !== undefined ? { amount: e.amount } : {}),
    ...(e.description !== undefined ? { description: e.description } : {}),
    ...(e.guild_name !== undefined ? { guild_name: e.guild_name } : {}),
    ...(e.cancel_reason !== undefined ? { cancel_reason: e.cancel_reason } : {}),
    ...(e.message_post !== undefined ? { message_post: e.message_post } : {}),
  }
  const row: Record<string, unknown> = {
    raw_event: JSON.stringify({ ...fields, Host: e.host, event_id: eventId }),
    timestamp: e.ts.replace('T', ' ').replace('Z', ''),
    Accept: '*/*',
    Host: e.host,
    'User-Agent': 'ApacheBench/2.3',
    event_id: eventId,
    ...fields,
  }
  const out: Record<string, unknown> = {}
  for (const c of tableColumns(table)) out[c.name] = row[c.name] ?? null
  return out
}

/** Writes Parquet rows with the table's exact column types through DuckDB. */
export async function writeParquet(
  table: TableName,
  rows: Record<string, unknown>[],
  file: string,
): Promise<void> {
  const dir = await tempDir('game-parquet-')
  try {
    const json = path.join(dir, 'rows.ndjson')
    await writeFile(json, rows.map((r) => JSON.stringify(r)).join('\n'))
    const cols = tableColumns(table)
    const spec = cols.map((c) => `'${c.name}': '${c.type}'`).join(', ')
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    await conn.run(
      `COPY (SELECT ${cols.map((c) => `"${c.name}"`).join(', ')} FROM read_json('${json}', format = 'newline_delimited', columns = {${spec}})) TO '${file}' (FORMAT parquet)`,
    )
    conn.closeSync()
    db.closeSync()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Publishes events as one commit: a Parquet file per (table, dt) at its final path, then the
 * commit record. Returns the record.
 */
export async function commitEvents(lake: Lake, events: FixtureEvent[]): Promise<CommitRecord> {
  const commitId = randomUUID().replaceAll('-', '').slice(0, 16)
  const existing = (await lake.list(COMMITS_DIR)).map((e) => parseCommitRecordName(e.name)).filter(Boolean)
  const seq = existing.reduce((m, r) => Math.max(m, r!.seq), 0) + 1
  const groups = new Map<string, { table: TableName; dt: string; rows: Record<string, unknown>[] }>()
  for (const e of events) {
    const spec = eventTypeSpec(e.type)
    if (!spec) throw new Error(`unknown event type ${e.type}`)
    const dt = e.ts.slice(0, 10)
    for (const table of spec.tables) {
      const key = `${table}/${dt}`
      if (!groups.has(key)) groups.set(key, { table, dt, rows: [] })
      groups.get(key)!.rows.push(rowFor(table, e))
    }
  }
  const files: CommittedFile[] = []
  const dir = await tempDir('game-commit-')
  try {
    let n = 0
    for (const g of groups.values()) {
      const local = path.join(dir, `${n}.parquet`)
      await writeParquet(g.table, g.rows, local)
      const finalPath = dataFilePath(g.table, g.dt, commitId, n++)
      await lake.putFile(local, finalPath)
      files.push({ table: g.table, path: finalPath, rows: g.rows.length, bytes: (await stat(local)).size })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const record: CommitRecord = {
    formatVersion: 1,
    commitId,
    seq,
    createdAt: new Date().toISOString(),
    topic: 'game_events',
    group: 'game-stream',
    offsets: { '0': String(seq * 1000) },
    files,
  }
  await lake.writeFile(commitRecordPath(seq, commitId), JSON.stringify(record))
  return record
}

/** Writes a Parquet file into a table directory WITHOUT a commit record (must never be read). */
export async function writeUncommitted(lake: Lake, events: FixtureEvent[], where: string): Promise<void> {
  const dir = await tempDir('game-uncommitted-')
  try {
    const spec = eventTypeSpec(events[0].type)!
    const table = spec.tables[0]
    const local = path.join(dir, 'x.parquet')
    await writeParquet(
      table,
      events.map((e) => rowFor(table, e)),
      local,
    )
    await lake.putFile(local, where)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function repeat(n: number, make: (i: number) => FixtureEvent): FixtureEvent[] {
  return Array.from({ length: n }, (_, i) => make(i))
}

const at = (day: string, second: number) =>
  new Date(Date.parse(`${day}T20:00:00.000Z`) + second * 1000).toISOString()

/**
 * The seed notebook's lake (w205-project3): oski.berkeley.edu bought 2 swords ("Great Sword") and
 * 15 knives and added 100 x 100; localhost added 10 x 5 + 10 x 10; tree.stanfurd.edu added 1;
 * two guild joins, one cancel, two messages. Spread over two days.
 */
export function seedEvents(): FixtureEvent[] {
  const d1 = '2019-08-09'
  const d2 = '2019-08-10'
  return [
    ...repeat(10, (i) => ({
      type: 'add_money',
      host: 'localhost',
      ts: at(d1, i),
      amount: 5,
      description: 'money',
    })),
    ...repeat(10, (i) => ({
      type: 'add_money',
      host: 'localhost',
      ts: at(d2, i),
      amount: 10,
      description: 'money',
    })),
    ...repeat(100, (i) => ({
      type: 'add_money',
      host: 'oski.berkeley.edu',
      ts: at(d1, 100 + i),
      amount: 100,
      description: 'money',
    })),
    { type: 'add_money', host: 'tree.stanfurd.edu', ts: at(d1, 300), amount: 1, description: 'money' },
    ...repeat(2, (i) => ({
      type: 'purchase_sword',
      host: 'oski.berkeley.edu',
      ts: at(d1, 400 + i),
      amount: -10,
      description: 'Great Sword',
    })),
    ...repeat(15, (i) => ({
      type: 'purchase_knife',
      host: 'oski.berkeley.edu',
      ts: at(d1, 500 + i),
      amount: -10,
      description: '',
    })),
    { type: 'join_guild', host: 'tree.stanford.edu', ts: at(d1, 600), guild_name: 'stanford' },
    { type: 'join_guild', host: 'berkeley.edu', ts: at(d1, 607), guild_name: 'berkeley' },
    {
      type: 'cancel_membership',
      host: 'tree.stanford.edu',
      ts: at(d1, 625),
      guild_name: 'stanford',
      cancel_reason: '',
    },
    { type: 'mensaje', host: 'localhost:5000', ts: at(d2, 3600), message_post: 'this is a GET message' },
    {
      type: 'mensaje',
      host: 'localhost:5000',
      ts: at(d2, 3604),
      message_post: 'this is a POST message - booyah!',
    },
  ]
}
