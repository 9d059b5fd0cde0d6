import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Guilds extends ReportCommand {
  static override summary = 'Guilds: joins, cancels, current members, churn, time to cancel.'
  static override description =
    "One row per guild from guild_membership and cancel_membership: joins, cancels, current members (players whose latest event for the guild is a join), churn % (cancels / joins) and the median seconds from a join to the same player's cancel."
  static override examples = ['<%= config.bin %> report guilds', '<%= config.bin %> report guilds --json']
  static override flags = reportFlags({})
  protected readonly reportName = 'guilds' as const
}
