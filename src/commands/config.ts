import { BaseCommand } from '../base-command.js'
import { apiUrlFlag, brokersFlag, lakeFlag, topicFlag } from '../flags.js'
import type { GameConfig } from '../lib/config.js'
import { renderTable } from '../ui/table.js'
import { colorEnabled } from '../ui/terminal.js'

export default class Config extends BaseCommand {
  static override summary = 'Show the resolved configuration.'
  static override description =
    'Prints every setting after applying flags, GAME_* environment variables, game.config.json, the running stack and defaults.'
  static override examples = [
    '<%= config.bin %> config',
    'GAME_BROKERS=kafka:9092 <%= config.bin %> config --json',
  ]
  static override flags = { brokers: brokersFlag, topic: topicFlag, lake: lakeFlag, 'api-url': apiUrlFlag }

  async run(): Promise<GameConfig> {
    const { flags } = await this.parse(Config)
    const config = this.gameConfig({
      'data-dir': flags['data-dir'],
      brokers: flags.brokers,
      topic: flags.topic,
      lake: flags.lake,
      apiUrl: flags['api-url'],
    })
    if (!this.jsonEnabled()) {
      const rows = Object.entries(config).map(([k, v]) => [
        k,
        typeof v === 'object' ? JSON.stringify(v) : String(v),
      ])
      this.log(renderTable(['key', 'value'], rows, { color: colorEnabled(process.stdout, process.env) }))
    }
    return config
  }
}
