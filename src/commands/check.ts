import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { datanodeHostFlag, hdfsUserFlag, lakeFlag } from '../flags.js'
import { GameError } from '../lib/errors.js'
import { type CheckResult, checkHint, checkLedger } from '../lib/load/check.js'
import { renderCheck } from '../ui/load-summary.js'

export default class Check extends BaseCommand {
  static override summary = 'Reconcile a load ledger with the lake: sent vs accepted vs rows landed.'
  static override description =
    `Reads the ledger written by \`game load --ledger FILE\` and counts, per player (Host) and event type, the rows in each type's own lake table (purchases, add_money, guild_membership, cancel_membership, messages), and checks that transactions holds as many purchase and add_money rows. A row is:
  ok           lake rows = accepted requests
  unconfirmed  more rows than accepted but not more than sent (requests without an answer that landed anyway)
  missing      fewer rows than accepted requests: events lost
  duplicate    more rows than sent requests: events written twice (or sent by someone else with the same Host)
  amount-mismatch  add_money counts agree but the summed amounts differ
  table-mismatch   the type's tables disagree (e.g. add_money vs transactions)
  untracked    default (GET /) events land in no table and are not checked

Only the run's own rows count: every request of \`game load\` carries the run's id in its User-Agent (\`game-load/1 (run ID)\`), the ledger records it, and the lake keeps the User-Agent column, so earlier runs with the same players (the seed scenario's are fixed) do not show up as duplicates.

Exits 5 when any row is missing, duplicate, amount-mismatch or table-mismatch, 0 otherwise. Run it after \`game stream\` has flushed the run's events (\`game stream --once\`).`
  static override examples = [
    '<%= config.bin %> load --scenario seed --ledger run.json && <%= config.bin %> stream --once && <%= config.bin %> check --ledger run.json',
    '<%= config.bin %> check --ledger run.json --lake file:///tmp/lake --json',
  ]
  static override flags = {
    ledger: Flags.string({ summary: 'The ledger written by `game load --ledger`.', required: true }),
    lake: lakeFlag,
    'hdfs-user': hdfsUserFlag,
    'datanode-host': datanodeHostFlag,
  }

  async run(): Promise<CheckResult> {
    const { flags } = await this.parse(Check)
    const config = this.configFromFlags(flags)
    const result = await checkLedger(
      {
        ledgerFile: flags.ledger,
        lake: config.lake,
        hdfsUser: config.hdfsUser,
        datanodeHost: config.datanodeHost,
        dataDir: config.dataDir,
      },
      { signal: this.interruptSignal() },
    )
    if (!this.jsonEnabled()) this.log(renderCheck(result, { color: this.color }))
    if (!result.ok) {
      return this.resultFailed(
        result,
        new GameError(
          'CHECK_FAILED',
          `${result.problems} player/type rows differ between the ledger and the lake`,
          {
            hint: checkHint(result),
          },
        ),
      )
    }
    return result
  }
}
