import { BaseCommand } from '../base-command.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { stackStatus } from '../lib/stack/stack.js'
import { STATUS_HEAD, statusRows, TOPIC_HEAD, topicRows } from '../lib/stack/status.js'
import type { StackStatusResult } from '../lib/stack/types.js'
import { renderTable } from '../ui/table.js'
import { colorEnabled } from '../ui/terminal.js'

export default class Status extends BaseCommand {
  static override summary = "Show the stack's services, their health, and Kafka topics with offsets."
  static override description =
    'Probes each service of the running stack (Kafka metadata, WebHDFS GETFILESTATUS) and lists every topic partition with its earliest and latest offsets. Exits 4 when the stack is not running.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async run(): Promise<StackStatusResult> {
    const { flags } = await this.parse(Status)
    const config = this.gameConfig({ 'data-dir': flags['data-dir'] })
    const result = await stackStatus({
      dataDir: config.dataDir,
      spawner: nodeSpawner,
      hdfsUser: config.hdfsUser,
      onProgress: (line) => this.progress(line),
    })
    if (!this.jsonEnabled()) {
      const color = colorEnabled(process.stdout, process.env)
      this.log(renderTable(STATUS_HEAD, statusRows(result), { color }))
      if (result.topics && result.topics.length > 0) {
        this.log(renderTable(TOPIC_HEAD, topicRows(result.topics), { color, alignRight: [1, 2, 3, 4] }))
      } else if (result.topics) {
        this.log('No topics.')
      }
    }
    return result
  }
}
