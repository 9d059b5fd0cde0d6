import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Overview extends ReportCommand {
  static override summary = 'Events per type, players, paying players, coins, ARPPU, events per day.'
  static override description =
    'One row per figure: events per type, total events, players (distinct Host), paying players (who added money), coins added and spent, ARPPU (coins added per paying player), events per day and rejected events.'
  static override examples = [
    '<%= config.bin %> report overview',
    '<%= config.bin %> report overview --chart',
    '<%= config.bin %> report overview --since 2019-08-09 --json',
  ]
  static override flags = reportFlags({ limit: false, chart: true })
  protected readonly reportName = 'overview' as const
}
