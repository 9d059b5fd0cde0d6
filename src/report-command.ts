import { Flags } from '@oclif/core'
import { BaseCommand } from './base-command.js'
import { datanodeHostFlag, hdfsUserFlag, lakeFlag } from './flags.js'
import { openLake } from './lib/lake/open.js'
import type { Lake } from './lib/lake/types.js'
import {
  lakeCacheDir,
  lakeReport,
  type ReportName,
  type ReportResult,
  type SnapshotProgress,
} from './lib/report/index.js'
import { CHART_REPORTS, renderReportChart, renderReportCsv, renderReportTable } from './ui/report-view.js'

/** The lake flags every report and `game query` take. */
export const lakeFlags = {
  lake: lakeFlag,
  'hdfs-user': hdfsUserFlag,
  'datanode-host': datanodeHostFlag,
}

/** Filters and output flags of `game report *`. */
export function reportFlags(options: { limit?: boolean; chart?: boolean } = {}) {
  return {
    ...lakeFlags,
    host: Flags.string({ summary: 'Only this player (the Host header), matched exactly.' }),
    since: Flags.string({
      summary: 'Only events at or after this ISO date or time (UTC unless it has an offset).',
    }),
    until: Flags.string({
      summary: 'Only events before this ISO date or time; a date alone includes that whole day.',
    }),
    ...(options.limit === false
      ? {}
      : { limit: Flags.integer({ summary: 'At most this many rows.', min: 1 }) }),
    csv: Flags.boolean({
      summary: 'Print CSV instead of a table.',
      ...(options.chart ? { exclusive: ['chart'] } : {}),
    }),
    ...(options.chart
      ? { chart: Flags.boolean({ summary: 'Draw a horizontal bar chart under the table.' }) }
      : {}),
  }
}

interface ReportFlagValues {
  'data-dir'?: string
  lake?: string
  'hdfs-user'?: string
  'datanode-host'?: string
  host?: string
  since?: string
  until?: string
  limit?: number
  csv?: boolean
  chart?: boolean
}

/** Shared by the report and query commands: the configured lake and its cache directory. */
export abstract class LakeCommand extends BaseCommand {
  protected openConfiguredLake(flags: ReportFlagValues): {
    lake: Lake
    cacheDir: string
    timeoutMs: number
    memoryLimit?: string
  } {
    const config = this.configFromFlags(flags)
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    return {
      lake,
      cacheDir: lakeCacheDir(config.dataDir, lake.url),
      timeoutMs: config.queryTimeoutMs,
      memoryLimit: config.queryMemoryLimit,
    }
  }

  /** Files skipped to answer, one stderr line each (they are also in the --json result). */
  protected printWarnings(warnings: string[] | undefined): void {
    for (const w of warnings ?? []) this.progress(`Warning: ${w}`)
  }

  /**
   * Download progress for hdfs:// lakes, on stderr: one line redrawn in place on a terminal, a line
   * per 10% otherwise (logs and CI keep append-only lines).
   */
  protected snapshotProgress(): (event: SnapshotProgress) => void {
    const inPlace = Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb' && !process.env.CI
    let lastDecile = -1
    return (event) => {
      if (event.phase !== 'fetch') return
      const line = `Fetched ${event.done}/${event.total} new lake files into the local cache`
      if (inPlace) {
        process.stderr.write(`\r\x1b[2K${line}${event.done === event.total ? '\n' : ''}`)
        return
      }
      const decile = Math.floor((event.done / event.total) * 10)
      if (decile === lastDecile && event.done !== event.total) return
      lastDecile = decile
      this.progress(line)
    }
  }

  protected emptyLakeNotice(lake: Lake): void {
    this.progress(
      `The lake ${lake.url} has no committed data yet. Run \`game stream\` to land the events from Kafka (after \`game up\` and some traffic, e.g. \`game load\`).`,
    )
  }
}

/** `game report <name>`: one lib call, then a table, CSV or chart; returns {report, rows}. */
export abstract class ReportCommand extends LakeCommand {
  protected abstract readonly reportName: ReportName

  async run(): Promise<ReportResult> {
    const { flags } = (await this.parse(this.constructor as typeof ReportCommand)) as unknown as {
      flags: ReportFlagValues
    }
    const { lake, cacheDir, timeoutMs, memoryLimit } = this.openConfiguredLake(flags)
    const { result, empty } = await lakeReport(this.reportName, {
      lake,
      cacheDir,
      timeoutMs,
      memoryLimit,
      filters: { host: flags.host, since: flags.since, until: flags.until, limit: flags.limit },
      onProgress: this.snapshotProgress(),
      signal: this.interruptSignal(),
    })
    if (empty) this.emptyLakeNotice(lake)
    this.printWarnings(result.warnings)
    if (this.jsonEnabled()) return result
    if (flags.csv) {
      process.stdout.write(renderReportCsv(result))
      return result
    }
    if (empty) return result
    const color = this.color
    if (result.rows.length === 0) this.progress('No rows match.')
    else this.log(renderReportTable(result, { color }))
    if (flags.chart && CHART_REPORTS.includes(this.reportName) && result.rows.length > 0) {
      const width = Math.max(10, Math.min(60, (process.stdout.columns ?? 100) - 50))
      this.log('')
      this.log(renderReportChart(result, { color, width }))
    }
    return result
  }
}
