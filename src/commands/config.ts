import { BaseCommand } from '../base-command.js'
import { apiUrlFlag, brokersFlag, lakeFlag, topicFlag } from '../flags.js'
import { type ConfigSource, type GameConfig, resolveConfig } from '../lib/config.js'
import { renderTable } from '../ui/table.js'

export default class Config extends BaseCommand {
  static override summary = 'Show the resolved configuration.'
  static override description =
    'Prints every setting after applying flags, GAME_* environment variables, game.config.json, the running stack and defaults, and which of those layers each value came from (the source column; `sources` under --json).'
  static override examples = [
    '<%= config.bin %> config',
    'GAME_BROKERS=kafka:9092 <%= config.bin %> config --json',
  ]
  static override flags = { brokers: brokersFlag, topic: topicFlag, lake: lakeFlag, 'api-url': apiUrlFlag }

  async run(): Promise<GameConfig & { sources: Record<keyof GameConfig, ConfigSource> }> {
    const { flags } = await this.parse(Config)
    const { config, sources } = resolveConfig({
      flags: {
        dataDir: flags['data-dir'],
        brokers: flags.brokers,
        topic: flags.topic,
        lake: flags.lake,
        apiUrl: flags['api-url'],
      },
      env: process.env,
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) {
      const rows = (Object.keys(config) as (keyof GameConfig)[]).map((k) => {
        const v = config[k]
        return [
          k,
          v === undefined ? '(not set)' : typeof v === 'object' ? JSON.stringify(v) : String(v),
          sources[k],
        ]
      })
      this.log(renderTable(['key', 'value', 'source'], rows, { color: this.color }))
    }
    return { ...config, sources }
  }
}
