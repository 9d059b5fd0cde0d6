import { BaseCommand } from '../base-command.js'
import { type CommandRow, renderCommandList } from '../ui/commands.js'

export default class Commands extends BaseCommand {
  static override summary = 'List every command with its summary.'
  static override description = 'The same list as `game help`, one command a line; `--json` for scripts.'
  static override examples = ['<%= config.bin %> commands', '<%= config.bin %> commands --json']

  async run(): Promise<{ commands: CommandRow[] }> {
    await this.parse(Commands)
    const commands = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({
        id: c.id.replaceAll(':', ' '),
        summary: (c.summary ?? c.description?.split('\n')[0] ?? '').replaceAll(
          '<%= config.bin %>',
          this.config.bin,
        ),
      }))
      .sort((a, b) => a.id.localeCompare(b.id))
    if (!this.jsonEnabled()) process.stdout.write(renderCommandList(this.config.bin, commands))
    return { commands }
  }
}
