import { ReportCommand, reportFlags } from '../../report-command.js'

export default class Messages extends ReportCommand {
  static override summary = 'The latest messages with player and time.'
  static override description =
    'The newest messages from the messages table (20 unless --limit), with the posting player (Host) and time.'
  static override examples = [
    '<%= config.bin %> report messages',
    '<%= config.bin %> report messages --limit 100 --host localhost:5000',
  ]
  static override flags = reportFlags({})
  protected readonly reportName = 'messages' as const
}
