import path from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { hdfsPortFlag, kafkaPortFlag } from '../flags.js'
import { type DemoResult, runDemo } from '../lib/demo.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { demoProgressLine, renderDemo } from '../ui/demo-view.js'

export default class Demo extends BaseCommand {
  static override summary = 'Run the whole pipeline once on the embedded stack, with the seed notebook data.'
  static override description =
    `Starts the embedded stack (game up), the game API, plays the seed scenario (the notebook's ApacheBench runs), streams Kafka into Parquet tables on HDFS (game stream --once), and prints the notebook's reports: purchases by type, oski.berkeley.edu's purchases, money per player, balances, guild joins and cancellations, messages.
The stack is left running so you can keep exploring (game report, game query, game api, game load); --down stops it at the end. The lake keeps what earlier runs wrote, so a second demo adds to the first's numbers (game down --purge --yes for a fresh start).`
  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --down',
    '<%= config.bin %> demo --json --kafka-port 19092 --hdfs-port 19870',
  ]
  static override flags = {
    down: Flags.boolean({ summary: 'Stop the stack at the end (data kept).' }),
    'kafka-port': kafkaPortFlag,
    'hdfs-port': hdfsPortFlag,
  }

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(Demo)
    const config = this.configFromFlags(flags)
    const composeFile = path.join(this.config.root, 'docker-compose.yml')
    const signal = this.interruptSignal()
    const result = await runDemo(
      {
        stack: {
          mode: 'embedded',
          dataDir: config.dataDir,
          bind: config.bind,
          kafkaPort: config.kafkaPort,
          hdfsPort: config.hdfsPort,
          topic: config.topic,
          partitions: config.partitions,
          hdfsUser: config.hdfsUser,
          fsync: config.fsync,
          daemonCommand: [process.execPath, path.join(this.config.root, 'bin', 'run.js'), 'stack', 'daemon'],
          composeFile,
          spawner: nodeSpawner,
        },
        stop: flags.down ? { dataDir: config.dataDir, composeFile, spawner: nodeSpawner } : undefined,
        topic: config.topic,
        hdfsUser: config.hdfsUser,
        dataDir: config.dataDir,
        prices: config.prices,
        // `npx game demo` (npm exec) did not put `game` on PATH: suggest what works.
        invokedAs: process.env.npm_command === 'exec' ? 'npx game' : 'game',
      },
      {
        onProgress: (p) => this.progress(demoProgressLine(p)),
        onDetail: flags.verbose ? (line) => this.progress(`  ${line}`) : undefined,
        signal,
      },
    )
    if (!this.jsonEnabled()) this.log(renderDemo(result, { color: this.color }))
    return result
  }
}
