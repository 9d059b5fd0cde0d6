import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { datanodeHostFlag, hdfsUserFlag, lakeFlag } from '../../flags.js'
import { ExitCode, GameError } from '../../lib/errors.js'
import { TABLE_NAMES, type TableName } from '../../lib/events/catalog.js'
import { openLake } from '../../lib/lake/open.js'
import { type ExpireResult, expireLake, graceFlagMs } from '../../lib/lake/upkeep.js'
import { renderExpireResult } from '../../ui/lake-upkeep.js'

export default class LakeExpire extends BaseCommand {
  static override summary = 'Drop whole dt partitions older than a horizon (retention).'
  static override description =
    'Every dt partition strictly older than today (UTC) minus --older-than is removed by one expiry commit record (the same atomic rename as a flush): reports stop counting those rows at once, their files move to _game/removed/<commit>/ (invisible to directory-listing readers) and are deleted after the grace period. `game stream` does the same on its own when the `retention` setting (GAME_RETENTION, --retention) is set. See docs/lake.md.'
  static override examples = [
    '<%= config.bin %> lake expire --older-than 90d --dry-run',
    '<%= config.bin %> lake expire --older-than 90d',
    '<%= config.bin %> lake expire --older-than 30d --table rejected --json',
  ]
  static override flags = {
    lake: lakeFlag,
    'hdfs-user': hdfsUserFlag,
    'datanode-host': datanodeHostFlag,
    'older-than': Flags.string({
      summary: 'Horizon, e.g. 90d, 12w, 36h (bare numbers are days). Default: the retention setting.',
    }),
    table: Flags.string({ summary: 'Only this table.', options: [...TABLE_NAMES] }),
    grace: Flags.string({
      summary:
        'Delete removed files this long after their commit, e.g. 1h. Default: 1h (config lakeGraceMs).',
    }),
    'dry-run': Flags.boolean({ summary: 'List the partitions that would go; change nothing.' }),
  }

  async run(): Promise<ExpireResult> {
    const { flags } = await this.parse(LakeExpire)
    const config = this.configFromFlags(
      { ...flags, 'lake-grace-ms': graceFlagMs(flags.grace) },
      { 'older-than': 'retention' },
    )
    if (config.retention === undefined) {
      throw new GameError('USAGE', 'Missing --older-than, and no retention setting is configured', {
        exitCode: ExitCode.usage,
        hint: 'Pass e.g. --older-than 90d, or set GAME_RETENTION / "retention" in game.config.json.',
      })
    }
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    const result = await expireLake(lake, {
      olderThanMs: config.retention,
      table: flags.table as TableName | undefined,
      graceMs: config.lakeGraceMs,
      dryRun: flags['dry-run'],
    })
    if (!this.jsonEnabled()) this.log(renderExpireResult(result, { color: this.color }))
    return result
  }
}
