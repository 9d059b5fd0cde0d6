import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { usageError } from '../lib/errors.js'
import { type StackLogsResult, stackLogs } from '../lib/stack/logs.js'
import { nodeSpawner } from '../lib/stack/spawner.js'

export default class Logs extends BaseCommand {
  static override summary = "Print the stack's log (-f to follow)."
  static override description =
    `Embedded mode: prints <data-dir>/logs/stack.log, the daemon's stdout and stderr; a service argument keeps only that service's lines ([kafka], [hdfs]).
Docker mode: docker compose logs <service> (kafka, hdfs = namenode + datanode, namenode, datanode, api, stream).`
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs kafka -f',
    '<%= config.bin %> logs hdfs -n 50',
  ]
  static override args = {
    service: Args.string({
      description: 'Only this service (kafka, hdfs; docker also namenode, datanode, api, stream).',
    }),
  }
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep printing new lines until Ctrl-C.' }),
    lines: Flags.integer({ char: 'n', summary: 'Only the last N lines (embedded mode).', min: 1 }),
  }

  async run(): Promise<StackLogsResult> {
    const { args, flags } = await this.parse(Logs)
    if (flags.follow && this.jsonEnabled()) throw usageError('--follow cannot be combined with --json')
    const config = this.configFromFlags(flags)
    const json = this.jsonEnabled()
    return stackLogs({
      dataDir: config.dataDir,
      service: args.service,
      follow: flags.follow,
      lines: flags.lines,
      composeFile: path.join(this.config.root, 'docker-compose.yml'),
      spawner: nodeSpawner,
      // Under --json the log text goes to stderr; stdout holds only the result.
      write: (text) => (json ? process.stderr : process.stdout).write(text),
      stdout: json ? process.stderr : process.stdout,
      stderr: process.stderr,
      signal: flags.follow ? this.interruptSignal() : undefined,
    })
  }
}
