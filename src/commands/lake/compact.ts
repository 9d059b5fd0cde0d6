import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { datanodeHostFlag, hdfsUserFlag, lakeFlag } from '../../flags.js'
import { TABLE_NAMES, type TableName } from '../../lib/events/catalog.js'
import { openLake } from '../../lib/lake/open.js'
import { type CompactResult, compactLake, graceFlagMs, UPKEEP_DEFAULTS } from '../../lib/lake/upkeep.js'
import { renderCompactResult, upkeepProgressLine } from '../../ui/lake-upkeep.js'

export default class LakeCompact extends BaseCommand {
  static override summary =
    'Rewrite partitions of many small files into few large ones, sorted by Host then timestamp.'
  static override description =
    "One table's dt partition at a time: its small files (under half the target size) are read with DuckDB (schema = the union of theirs), sorted by Host then timestamp and written as files near --target-size, then swapped in by one commit record that removes the old files and adds the new ones (the same atomic rename as a stream flush). Readers that follow the commit log (reports, game query) see the partition before or after, never both. The old files move at once to _game/removed/<commit>/ (invisible to Spark, pyarrow and DuckDB globs) and are deleted after the grace period (--grace, default 1 h). Safe beside a running `game stream` and across kill -9: the next run or stream start rolls back orphaned outputs and finishes half-done moves. See docs/lake.md."
  static override examples = [
    '<%= config.bin %> lake compact --dry-run',
    '<%= config.bin %> lake compact --table purchases --dt 2026-11-28',
    '<%= config.bin %> lake compact --target-size 64MiB --min-files 4 --json | jq .totals',
    '<%= config.bin %> lake compact --lake file:///tmp/lake',
  ]
  static override flags = {
    lake: lakeFlag,
    'hdfs-user': hdfsUserFlag,
    'datanode-host': datanodeHostFlag,
    table: Flags.string({ summary: 'Only this table.', options: [...TABLE_NAMES] }),
    dt: Flags.string({
      summary: 'Only this dt partition (YYYY-MM-DD).',
      parse: async (v) => {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(v))
          throw new Error(`--dt expects YYYY-MM-DD, got ${JSON.stringify(v)}`)
        return v
      },
    }),
    'target-size': Flags.string({
      summary: 'Output files near this size, e.g. 128MiB, 64MB. Default: 128MiB (config compactTargetSize).',
      env: 'GAME_COMPACT_TARGET_SIZE',
    }),
    'min-files': Flags.integer({
      summary: `Compact a partition holding at least this many small files. Default: ${UPKEEP_DEFAULTS.minFiles}.`,
      min: 2,
    }),
    grace: Flags.string({
      summary:
        'Delete removed files this long after their commit, e.g. 1h, 30m. Default: 1h (config lakeGraceMs).',
    }),
    'dry-run': Flags.boolean({ summary: 'List the partitions that would be compacted; change nothing.' }),
  }

  async run(): Promise<CompactResult> {
    const { flags } = await this.parse(LakeCompact)
    const config = this.configFromFlags(
      { ...flags, 'lake-grace-ms': graceFlagMs(flags.grace) },
      { 'target-size': 'compactTargetSize' },
    )
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    // Test hook (GAME_COMPACT_CRASH_AT=after-staging|after-commit-record): die like kill -9 there.
    const crashAt = process.env.GAME_COMPACT_CRASH_AT
    const result = await compactLake(lake, {
      onPublishStep: crashAt
        ? (step) => {
            if (step === crashAt) process.kill(process.pid, 'SIGKILL')
          }
        : undefined,
      table: flags.table as TableName | undefined,
      dt: flags.dt,
      targetSizeBytes: config.compactTargetSize,
      minFiles: flags['min-files'],
      graceMs: config.lakeGraceMs,
      dryRun: flags['dry-run'],
      signal: this.interruptSignal(),
      onProgress: (e) => this.progress(upkeepProgressLine(e)),
    })
    if (!this.jsonEnabled()) this.log(renderCompactResult(result, { color: this.color }))
    return result
  }
}
