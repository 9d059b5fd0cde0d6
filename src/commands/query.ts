import { Args, Flags } from '@oclif/core'
import type { QueryResult } from '../lib/report/engine.js'
import { lakeSql } from '../lib/report/index.js'
import { LakeCommand, lakeFlags } from '../report-command.js'
import { renderQueryCsv, renderQueryTable } from '../ui/report-view.js'

export default class Query extends LakeCommand {
  static override summary = 'Run read-only SQL over the lake tables.'
  static override description =
    `Runs one SELECT (or WITH, DESCRIBE, SHOW, EXPLAIN, SUMMARIZE, PRAGMA table_info) with DuckDB over the lake's committed Parquet files. The tables have the seed's names: purchases, add_money, transactions, guild_membership, cancel_membership, messages, rejected (plus the dt partition column).
Statements that write or attach files (COPY, ATTACH, INSTALL, LOAD, CREATE, INSERT, UPDATE, DELETE, SET, EXPORT, ...) are refused with exit 2, and DuckDB cannot read any file outside the lake snapshot. A SQL error exits 1 and lists the tables and their columns.`
  static override examples = [
    `<%= config.bin %> query "select event_type, count(event_type) from purchases group by event_type"`,
    `<%= config.bin %> query "select Host, sum(amount), avg(amount), count(amount) from add_money group by Host" --format csv`,
    `<%= config.bin %> query "select * from transactions where Host = 'oski.berkeley.edu'" --json`,
    '<%= config.bin %> query "SHOW TABLES"',
  ]
  static override args = {
    sql: Args.string({ description: 'The SQL statement (quote it).', required: true }),
  }
  static override flags = {
    ...lakeFlags,
    format: Flags.string({
      summary: 'Output format: table, json ({columns, rows}) or csv.',
      options: ['table', 'json', 'csv'],
      default: 'table',
    }),
  }

  async run(): Promise<QueryResult> {
    const { args, flags } = await this.parse(Query)
    const { lake, cacheDir, timeoutMs, memoryLimit } = this.openConfiguredLake(flags)
    const { result, empty } = await lakeSql({
      lake,
      cacheDir,
      timeoutMs,
      memoryLimit,
      sql: args.sql,
      onProgress: this.snapshotProgress(),
      signal: this.interruptSignal(),
    })
    if (empty) this.emptyLakeNotice(lake)
    this.printWarnings(result.warnings)
    if (this.jsonEnabled()) return result
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else if (flags.format === 'csv') process.stdout.write(renderQueryCsv(result))
    else this.log(renderQueryTable(result, { color: this.color }))
    return result
  }
}
