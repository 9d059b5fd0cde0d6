import { access } from 'node:fs/promises'
import os from 'node:os'
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api'
import { ExitCode, GameError } from '../errors.js'
import { PARTITION_COLUMN, type TableName, tableColumns } from '../events/catalog.js'
import type { Lake } from '../lake/types.js'
import { toPlainRow } from './convert.js'
import { type LakeSnapshot, type SnapshotProgress, snapshotLake } from './snapshot.js'
import { assertReadOnlySql, refused } from './sql-guard.js'

export interface LakeQueryOptions {
  lake: Lake
  /** Local cache directory for this lake's files (lakeCacheDir(dataDir, lake.url)). */
  cacheDir: string
  onProgress?: (event: SnapshotProgress) => void
  signal?: AbortSignal
  /** A statement running longer than this is interrupted (QUERY_TIMEOUT). Default 60 s; 0 = none. */
  timeoutMs?: number
  /** DuckDB's memory_limit, e.g. "2GB" (default: a quarter of this machine's RAM). */
  memoryLimit?: string
}

export const DEFAULT_QUERY_TIMEOUT_MS = 60_000

/** Default DuckDB memory_limit: a quarter of RAM (DuckDB's own default is 80%), at least 256 MB. */
export function defaultMemoryLimit(totalBytes: number = os.totalmem()): string {
  return `${Math.max(256, Math.floor(totalBytes / 4 / 1_000_000))}MB`
}

export interface QueryColumn {
  name: string
  type: string
}

export interface QueryResult {
  columns: QueryColumn[]
  rows: Record<string, unknown>[]
  /** What was skipped to answer (e.g. an unreadable Parquet file); absent when nothing was. */
  warnings?: string[]
}

export interface LakeTableInfo {
  name: TableName
  /** Committed files in the snapshot. */
  files: number
  /** Rows according to the commit records. */
  rows?: number
  columns: QueryColumn[]
}

export type QueryParams = unknown[] | Record<string, unknown>

/** Explicit parameter types, for parameters that may be NULL (DuckDB cannot infer those). */
export type ParamType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP'

export interface LakeQuery {
  /**
   * Runs one read-only statement (SELECT/WITH/EXPLAIN/DESCRIBE/SHOW/SUMMARIZE...) over the views;
   * parameters are bound ($1 or $name), never spliced. Numbers come back as JS numbers, timestamps
   * as ISO strings. Throws GameError: QUERY_REFUSED (exit 2) or QUERY_FAILED (exit 1, hint lists tables).
   */
  query(sql: string, params?: QueryParams, types?: Record<string, ParamType>): Promise<QueryResult>
  /** The views: the seed's table names, their committed file and row counts and columns. */
  tables(): LakeTableInfo[]
  /** The snapshot the views read. */
  readonly snapshot: LakeSnapshot
  /** True when no table has a committed file. */
  readonly empty: boolean
  /** Committed files left out because DuckDB cannot read them, one line each naming the file. */
  readonly warnings: string[]
  close(): void
}

/** SQL string literal. Only for paths we produced (cache or lake-local paths), never user input. */
function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`
}

/** The view of a table: its committed Parquet files, or no rows with the right columns. */
export function viewSql(table: TableName, files: string[]): string {
  if (files.length > 0) {
    return `CREATE VIEW ${ident(table)} AS SELECT * FROM read_parquet([${files.map(literal).join(', ')}], hive_partitioning = true, union_by_name = true)`
  }
  const cols = tableColumns(table).map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`)
  cols.push(`CAST(NULL AS DATE) AS ${ident(PARTITION_COLUMN)}`)
  return `CREATE VIEW ${ident(table)} AS SELECT ${cols.join(', ')} WHERE false`
}

/** Fresh snapshots a query is retried on when a file of its snapshot moved away under it. */
const MOVED_FILE_RETRIES = 3

async function anyFileGone(snapshot: LakeSnapshot): Promise<boolean> {
  for (const t of snapshot.tables) {
    for (const f of t.files) {
      if (
        !(await access(f).then(
          () => true,
          () => false,
        ))
      )
        return true
    }
  }
  return false
}

/**
 * Opens DuckDB (in memory) over a snapshot of the lake: one view per table, then external access
 * is switched off (only the snapshot's files stay readable) and the configuration locked.
 *
 * A compaction or expiry that commits after the snapshot moves the files it removes to
 * _game/removed/ (lake/layout.ts): a statement that then fails because a file of its snapshot is
 * gone is run again on a fresh snapshot (whose files are the compacted ones), so a report during
 * a compaction still sees exact totals.
 */
export async function openLakeQuery(options: LakeQueryOptions): Promise<LakeQuery> {
  let inner = await openLakeQueryOnce(options)
  // A file that moved between the snapshot and the views shows up as "unreadable": take a new snapshot.
  for (let attempt = 0; attempt < MOVED_FILE_RETRIES && inner.warnings.length > 0; attempt++) {
    if (!(await anyFileGone(inner.snapshot))) break
    inner.close()
    inner = await openLakeQueryOnce(options)
  }
  const wrapper: LakeQuery = {
    get snapshot() {
      return inner.snapshot
    },
    get empty() {
      return inner.empty
    },
    get warnings() {
      return inner.warnings
    },
    tables: () => inner.tables(),
    async query(sql, params, types) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await inner.query(sql, params, types)
        } catch (error) {
          if (
            attempt >= MOVED_FILE_RETRIES ||
            (error as GameError)?.code !== 'QUERY_FAILED' ||
            !(await anyFileGone(inner.snapshot))
          )
            throw error
          inner.close()
          inner = await openLakeQueryOnce(options)
        }
      }
    },
    close: () => inner.close(),
  }
  return wrapper
}

async function openLakeQueryOnce(options: LakeQueryOptions): Promise<LakeQuery> {
  const snapshot = await snapshotLake(options)
  // Loaded here, not at import: every other command stays free of the native module's start-up cost.
  const duckdb = await import('@duckdb/node-api')
  const { DuckDBInstance, StatementType } = duckdb
  const READ_ONLY_TYPES = new Set([StatementType.SELECT, StatementType.EXPLAIN])
  const toDuckType = (t: ParamType): DuckDBType => duckdb[t]
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  })
  let connection: DuckDBConnection
  const warnings: string[] = []
  const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
  try {
    connection = await instance.connect()
    // Parquet footers are read once per file, not again for every bind (views, DESCRIBE, query).
    await connection.run('SET parquet_metadata_cache = true')
    await connection.run(`SET memory_limit = ${literal(options.memoryLimit ?? defaultMemoryLimit())}`)
    for (const t of snapshot.tables) {
      try {
        await connection.run(viewSql(t.name, t.files))
      } catch (error) {
        // One unreadable file must not take every report down: find the files DuckDB cannot
        // read, leave them out with a warning naming each, and build the view from the rest.
        const good: string[] = []
        for (const f of t.files) {
          try {
            await connection.run(`SELECT count(*) FROM parquet_metadata(${literal(f)})`)
            good.push(f)
          } catch (fileError) {
            warnings.push(
              `Skipped unreadable Parquet file ${f} (table ${t.name}): ${((fileError as Error).message ?? '').split('\n')[0]}`,
            )
          }
        }
        if (good.length === t.files.length) throw error
        t.files = good
        await connection.run(viewSql(t.name, t.files))
      }
    }
    const allowed = snapshot.tables.flatMap((t) => t.files)
    await connection.run(`SET allowed_paths = [${allowed.map(literal).join(', ')}]`)
    await connection.run('SET enable_external_access = false')
    await connection.run('SET lock_configuration = true')
  } catch (error) {
    instance.closeSync()
    throw new GameError(
      'LAKE_UNREADABLE',
      `Cannot open the lake's Parquet files: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'A committed file may be damaged; run with --verbose for details.',
      },
    )
  }

  const infos: LakeTableInfo[] = []
  for (const t of snapshot.tables) {
    let columns: QueryColumn[]
    try {
      const r = await connection.runAndReadAll(`DESCRIBE ${ident(t.name)}`)
      columns = r
        .getRowObjectsJS()
        .map((row) => ({ name: String(row.column_name), type: String(row.column_type) }))
    } catch {
      columns = []
    }
    infos.push({ name: t.name, files: t.files.length, rows: t.rows, columns })
  }

  const tablesHint = () =>
    `Tables:\n${infos.map((t) => `  ${t.name}(${t.columns.map((c) => c.name).join(', ')})`).join('\n')}`

  let closed = false
  return {
    snapshot,
    empty: snapshot.tables.every((t) => t.files.length === 0),
    tables: () => infos,
    warnings,
    async query(sql, params, types) {
      let statementType: number
      let timer: NodeJS.Timeout | undefined
      let timedOut = false
      let prepared: Awaited<ReturnType<DuckDBConnection['prepare']>>
      assertReadOnlySql(sql)
      try {
        const extracted = await connection.extractStatements(sql)
        if (extracted.count !== 1)
          throw refused(extracted.count === 0 ? 'an empty statement' : 'more than one statement')
        prepared = await extracted.prepare(0)
        statementType = prepared.statementType
      } catch (error) {
        if (error instanceof GameError) throw error
        throw queryFailed(error, tablesHint())
      }
      if (!READ_ONLY_TYPES.has(statementType as (typeof StatementType)[keyof typeof StatementType])) {
        prepared.destroySync()
        throw refused(`a ${StatementType[statementType] ?? 'non-SELECT'} statement`)
      }
      try {
        const duckTypes = types
          ? Object.fromEntries(Object.entries(types).map(([k, t]) => [k, toDuckType(t)]))
          : undefined
        if (params !== undefined)
          prepared.bind(params as DuckDBValue[] | Record<string, DuckDBValue>, duckTypes)
        timer =
          timeoutMs > 0
            ? setTimeout(() => {
                timedOut = true
                connection.interrupt()
              }, timeoutMs)
            : undefined
        const reader = await prepared.runAndReadAll()
        const names = reader.columnNames()
        const columnTypes = reader.columnTypes().map((t) => String(t))
        const typeOf = Object.fromEntries(names.map((n, i) => [n, columnTypes[i]]))
        return {
          columns: names.map((name, i) => ({ name, type: columnTypes[i] })),
          rows: reader.getRowObjectsJS().map((row) => toPlainRow(row, typeOf)),
          ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
        }
      } catch (error) {
        if (timedOut)
          throw new GameError('QUERY_TIMEOUT', `The query ran longer than ${timeoutMs} ms and was stopped`, {
            cause: error,
            hint: 'Narrow it (WHERE, LIMIT), or raise queryTimeoutMs (GAME_QUERY_TIMEOUT_MS; 0 = no limit).',
            details: { timeoutMs },
          })
        throw queryFailed(error, tablesHint())
      } finally {
        clearTimeout(timer)
        prepared.destroySync()
      }
    },
    close() {
      if (closed) return
      closed = true
      connection.closeSync()
      instance.closeSync()
    },
  }
}

function queryFailed(error: unknown, hint: string): GameError {
  const message = (error as Error)?.message ?? String(error)
  return new GameError('QUERY_FAILED', message.split('\n')[0], {
    exitCode: ExitCode.failure,
    cause: error,
    hint,
    details: { duckdb: message },
  })
}
