import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Money extends ReportCommand {
  static override summary = 'Money added per player: sum, average, count.'
  static override description =
    "The seed notebook's query over add_money: select Host, sum(amount), avg(amount), count(amount) group by Host."
  static override examples = [
    '<%= config.bin %> report money',
    '<%= config.bin %> report money --csv > money.csv',
  ]
  static override flags = reportFlags({})
  protected readonly reportName = 'money' as const
}
