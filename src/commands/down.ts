import path from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { type StopStackResult, stopStack } from '../lib/stack/stack.js'

export default class Down extends BaseCommand {
  static override summary = 'Stop the stack; the data is kept unless --purge --yes.'
  static override description =
    `Embedded mode: sends SIGTERM to the stack daemon (it closes the broker and the gateway cleanly), waits, and sends SIGKILL after --timeout seconds. Docker mode: docker compose down (with --purge: down -v, which deletes the volumes).
--purge also deletes the data dir (Kafka log, HDFS files, logs) and needs --yes.
When nothing runs it says so and exits 0.`
  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --purge --yes',
    '<%= config.bin %> down --docker',
  ]
  static override flags = {
    purge: Flags.boolean({ summary: 'Also delete the data dir (docker: the volumes). Needs --yes.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Confirm --purge.' }),
    docker: Flags.boolean({
      summary: 'Run docker compose down even if the state file does not say docker is up.',
    }),
    timeout: Flags.integer({ summary: 'Seconds to wait after SIGTERM before SIGKILL (default 10).', min: 1 }),
  }

  async run(): Promise<StopStackResult> {
    const { flags } = await this.parse(Down)
    const config = this.configFromFlags(flags)
    const result = await stopStack({
      dataDir: config.dataDir,
      purge: flags.purge,
      yes: flags.yes,
      docker: flags.docker,
      composeFile: path.join(this.config.root, 'docker-compose.yml'),
      spawner: nodeSpawner,
      timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
      onProgress: (line) => this.progress(line),
    })
    if (!this.jsonEnabled()) {
      if (result.stopped === null) this.log('The stack is not running; nothing to stop.')
      else
        this.log(
          `Stopped the ${result.stopped} stack${result.pid ? ` (pid ${result.pid}${result.killed ? ', killed' : ''})` : ''}.`,
        )
      this.log(result.purged ? `Deleted ${result.dataDir}.` : `Data kept in ${result.dataDir}.`)
    }
    return result
  }
}
