import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Balances extends ReportCommand {
  static override summary = 'Balances per player: coins added, spent, balance, transactions.'
  static override description =
    'One row per player (the Host header) from the transactions table: coins added, coins spent, the balance and the number of transactions. Negative balances are flagged. Filters are bound parameters, never spliced into SQL.'
  static override examples = [
    '<%= config.bin %> report balances',
    '<%= config.bin %> report balances --host oski.berkeley.edu --json',
    '<%= config.bin %> report balances --since 2019-08-09 --chart',
  ]
  static override flags = reportFlags({ chart: true })
  protected readonly reportName = 'balances' as const
}
