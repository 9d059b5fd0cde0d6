import { stat } from 'node:fs/promises'
import { type ColumnSpec, type TableName, tableColumns } from '../events/catalog.js'

/**
 * The Parquet writer: NDJSON rows (one JSON object per line, keys = column names, `timestamp` in ms
 * since epoch, extra keys such as `dt` ignored) → one Parquet file, through one reused DuckDB
 * instance. DuckDB writes V1 data pages, dictionary encoding for strings, snappy or zstd, and the
 * standard logical types: VARCHAR → STRING (UTF8), BIGINT → INT64, TIMESTAMP →
 * TIMESTAMP(MICROS, isAdjustedToUTC=true), which Spark, Hive, pyarrow, DuckDB and hyparquet read.
 */
export type ParquetCompression = 'snappy' | 'zstd'

export interface ParquetWriterOptions {
  /** Default snappy: every reader decodes it (hyparquet needs extra codecs for zstd). */
  compression?: ParquetCompression
  /** DuckDB memory_limit; default '128MB'. */
  memoryLimit?: string
  /** DuckDB threads; default 1 (the COPY runs off the JS thread; the consumer needs the other core). */
  threads?: number
  /**
   * Rows per row group; default 30720. DuckDB's own default (122880) buffers a whole row group of
   * raw_event strings (~40 MB) and, under the 128 MB memory limit, made the COPY 3x slower
   * (bench/stream.ts); 30720 rows is still a few MB per row group compressed.
   */
  rowGroupSize?: number
}

export interface WrittenFile {
  rows: number
  bytes: number
}

export interface ParquetWriter {
  /**
   * Converts local files of one table, NDJSON and the stream encoder's CSV lines (see
   * stream/encode.ts), into one local Parquet file, leaving out `skip`ped rows.
   */
  writeFiles(table: TableName, files: SourceFiles, outPath: string, skip?: SkipOffsets): Promise<WrittenFile>
  close(): void
}

export const DEFAULT_ROW_GROUP_SIZE = 30_720

/** A table's rows in local files: NDJSON (one object per line) and/or CSV lines (stream/encode.ts). */
export interface SourceFiles {
  json: string[]
  csv: string[]
}

/**
 * The CSV line format the stream's encoder writes (stream/encode.ts): the table's columns then
 * `__p`, `__o`, separated by U+001F, U+0002 for null, nothing quoted or escaped.
 */
export const CSV_DELIMITER = '\u001f'
export const CSV_NULL = '\u0002'
/** The longest CSV line read_csv accepts (its read buffer is twice this; DuckDB's default would be 16x). */
export const CSV_MAX_LINE_BYTES = 4 * 1024 * 1024

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`
}

/**
 * Per Kafka partition, an offset below which rows are left out (already published by another
 * writer). Lines carry their source as `__p` (partition) and `__o` (offset); neither is written.
 */
export type SkipOffsets = Map<number, bigint>

const SOURCE_COLUMNS: readonly ColumnSpec[] = [
  { name: '__p', type: 'BIGINT' },
  { name: '__o', type: 'BIGINT' },
]

/** The JSON type DuckDB reads a column as (timestamps arrive as epoch ms). */
function jsonType(c: ColumnSpec): string {
  return c.type === 'TIMESTAMP' ? 'BIGINT' : c.type
}

/** The typed SELECT expression of a column. */
function selectExpr(c: ColumnSpec): string {
  if (c.type === 'TIMESTAMP') return `make_timestamptz(${ident(c.name)} * 1000) AS ${ident(c.name)}`
  return ident(c.name)
}

/** The COPY options every lake file is written with. */
function parquetOptions(options: Pick<ParquetWriterOptions, 'compression' | 'rowGroupSize'>): string {
  return [
    'FORMAT parquet',
    `COMPRESSION ${options.compression ?? 'snappy'}`,
    `ROW_GROUP_SIZE ${options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE}`,
  ].join(', ')
}

/**
 * The COPY statement that turns one table's files (NDJSON and/or the stream's CSV lines) into
 * Parquet. Pure, for tests and review.
 */
export function copyStatement(
  table: TableName,
  source: string | string[] | SourceFiles,
  outPath: string,
  options: Pick<ParquetWriterOptions, 'compression' | 'rowGroupSize'> & { skip?: SkipOffsets } = {},
): string {
  const files: SourceFiles =
    typeof source === 'string'
      ? { json: [source], csv: [] }
      : Array.isArray(source)
        ? { json: source, csv: [] }
        : source
  const cols = tableColumns(table)
  const skip = [...(options.skip ?? new Map<number, bigint>())]
  const read = skip.length > 0 ? [...cols, ...SOURCE_COLUMNS] : cols
  const typed = (list: readonly ColumnSpec[]) =>
    list.map((c) => `${sqlString(c.name)}: ${sqlString(jsonType(c))}`).join(', ')
  const select = cols.map(selectExpr).join(', ')
  const list = (paths: string[]) => `[${paths.map(sqlString).join(', ')}]`
  const names = read.map((c) => ident(c.name)).join(', ')
  const sources: string[] = []
  if (files.csv.length > 0) {
    // Every column is in the CSV line, __p/__o last; nothing quoted or escaped (encode.ts).
    sources.push(
      `SELECT ${names} FROM read_csv(${list(files.csv)}, delim = ${sqlString(CSV_DELIMITER)}, quote = '', escape = '', ` +
        `header = false, auto_detect = false, new_line = '\\n', nullstr = ${sqlString(CSV_NULL)}, ` +
        `max_line_size = ${CSV_MAX_LINE_BYTES}, buffer_size = ${2 * CSV_MAX_LINE_BYTES}, columns = {${typed([...cols, ...SOURCE_COLUMNS])}})`,
    )
  }
  if (files.json.length > 0 || sources.length === 0) {
    sources.push(
      `SELECT ${names} FROM read_json(${list(files.json)}, format = 'newline_delimited', columns = {${typed(read)}}, maximum_object_size = 16777216)`,
    )
  }
  const from = sources.length === 1 ? sources[0] : sources.join(' UNION ALL ')
  const where =
    skip.length > 0
      ? ` WHERE NOT (${skip.map(([p, o]) => `("__p" = ${Number(p)} AND "__o" < ${BigInt(o).toString()})`).join(' OR ')})`
      : ''
  return `COPY (SELECT ${select} FROM (${from})${where}) TO ${sqlString(outPath)} (${parquetOptions(options)})`
}

/**
 * Opens one in-memory DuckDB for the lifetime of the writer. Through @duckdb/node-bindings, the
 * native binding that @duckdb/node-api wraps: the writer only runs COPY statements, and loading the
 * wrapper's ~180 modules cost each `game stream` process 0.3-0.8 s of start-up CPU (bench/stream.ts
 * --whole). The report engine, which reads values, keeps node-api.
 */
export async function createParquetWriter(options: ParquetWriterOptions = {}): Promise<ParquetWriter> {
  const { default: duckdb } = await import('@duckdb/node-bindings')
  const config = duckdb.create_config()
  duckdb.set_config(config, 'memory_limit', options.memoryLimit ?? '128MB')
  duckdb.set_config(config, 'threads', String(options.threads ?? 1))
  const db = await duckdb.open(':memory:', config)
  const conn = await duckdb.connect(db)

  const writeFiles = async (table: TableName, files: SourceFiles, outPath: string, skip?: SkipOffsets) => {
    const result = await duckdb.query(conn, copyStatement(table, files, outPath, { ...options, skip }))
    const rows = Number(duckdb.rows_changed(result))
    const { size } = await stat(outPath)
    return { rows, bytes: size }
  }

  return {
    writeFiles,
    close() {
      duckdb.disconnect_sync(conn)
      duckdb.close_sync(db)
    },
  }
}
