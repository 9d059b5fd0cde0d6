import type { Lake } from '../lake/types.js'
import { openLakeQuery, type QueryResult } from './engine.js'
import type { ReportFilterInput } from './filters.js'
import { type ReportName, type ReportResult, reportFilterParams, runReport } from './reports.js'
import type { SnapshotProgress } from './snapshot.js'

export { type LakeQuery, type LakeQueryOptions, openLakeQuery, type QueryResult } from './engine.js'
export { type ReportFilterInput, reportParams } from './filters.js'
export { REPORT_NAMES, REPORTS, type ReportName, type ReportResult, runReport } from './reports.js'
export { lakeCacheDir, type SnapshotProgress } from './snapshot.js'

export interface LakeReportOptions {
  lake: Lake
  cacheDir: string
  filters?: ReportFilterInput
  onProgress?: (event: SnapshotProgress) => void
  signal?: AbortSignal
  timeoutMs?: number
  memoryLimit?: string
}

export interface LakeReportResult<N extends ReportName = ReportName> {
  result: ReportResult<N>
  /** No table had a committed file: nothing has been streamed into this lake yet. */
  empty: boolean
}

/** Opens a snapshot of the lake, runs one report over it and closes DuckDB. */
export async function lakeReport<N extends ReportName>(
  name: N,
  options: LakeReportOptions,
): Promise<LakeReportResult<N>> {
  // Bad filters are refused before any lake file is downloaded.
  reportFilterParams(name, options.filters)
  const query = await openLakeQuery(options)
  try {
    const result = await runReport(name, { query, filters: options.filters })
    if (query.warnings.length > 0) result.warnings = [...query.warnings]
    return { result, empty: query.empty }
  } finally {
    query.close()
  }
}

export interface LakeSqlOptions {
  lake: Lake
  cacheDir: string
  sql: string
  onProgress?: (event: SnapshotProgress) => void
  signal?: AbortSignal
  timeoutMs?: number
  memoryLimit?: string
}

/** `game query`: one read-only statement over the lake's views. */
export async function lakeSql(options: LakeSqlOptions): Promise<{ result: QueryResult; empty: boolean }> {
  const query = await openLakeQuery(options)
  try {
    return { result: await query.query(options.sql), empty: query.empty }
  } finally {
    query.close()
  }
}
