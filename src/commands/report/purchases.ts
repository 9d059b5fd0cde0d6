import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Purchases extends ReportCommand {
  static override summary = 'Purchases per item: count, coins spent, distinct buyers.'
  static override description =
    'One row per item type and description from the purchases table: how many were bought, the coins spent on them and how many distinct players bought them. --host narrows to one player.'
  static override examples = [
    '<%= config.bin %> report purchases',
    '<%= config.bin %> report purchases --host oski.berkeley.edu',
    '<%= config.bin %> report purchases --chart',
  ]
  static override flags = reportFlags({ chart: true })
  protected readonly reportName = 'purchases' as const
}
