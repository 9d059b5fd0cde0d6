import { BaseCommand } from '../../base-command.js'
import { datanodeHostFlag, hdfsUserFlag, lakeFlag } from '../../flags.js'
import { openLake } from '../../lib/lake/open.js'
import { type LakeStatusResult, lakeStatus, SMALL_FILE_BYTES } from '../../lib/lake/status.js'
import { renderLakeStatus } from '../../ui/lake-status.js'

export default class LakeStatus extends BaseCommand {
  static override summary =
    'Show the lake per table: files, small files, bytes, rows, dt range, last compaction.'
  static override description =
    `Reads the lake's commit log (the same one reports read) and sums the committed files per table: how many, how many are small (under ${SMALL_FILE_BYTES / 1024 / 1024} MiB, the ones that slow every report down), bytes, rows, the number of dt= partitions with the oldest and newest, and when a compaction last rewrote the table.`
  static override examples = [
    '<%= config.bin %> lake status',
    '<%= config.bin %> lake status --json | jq .totals',
    '<%= config.bin %> lake status --lake file:///tmp/lake',
  ]
  static override flags = { lake: lakeFlag, 'hdfs-user': hdfsUserFlag, 'datanode-host': datanodeHostFlag }

  async run(): Promise<LakeStatusResult> {
    const { flags } = await this.parse(LakeStatus)
    const config = this.configFromFlags(flags)
    const lake = openLake(config.lake, { hdfsUser: config.hdfsUser, datanodeHost: config.datanodeHost })
    const result = await lakeStatus(lake)
    if (!this.jsonEnabled()) this.log(renderLakeStatus(result, { color: this.color }))
    return result
  }
}
