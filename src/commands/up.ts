import path from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { hdfsPortFlag, kafkaPortFlag, topicFlag } from '../flags.js'
import { ExitCode } from '../lib/errors.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { startStack } from '../lib/stack/stack.js'
import { allRunning } from '../lib/stack/status.js'
import type { StackStatusResult } from '../lib/stack/types.js'
import { STATUS_HEAD, statusRows } from '../ui/status.js'
import { renderTable } from '../ui/table.js'

export default class Up extends BaseCommand {
  static override summary = 'Start the stack (Kafka + WebHDFS) in the background and wait until it answers.'
  static override description =
    `Embedded mode (default, no Docker): a background daemon runs the project's Kafka-compatible broker on 127.0.0.1:9092 and its WebHDFS gateway on 127.0.0.1:9870, data under the data dir (<data-dir>/kafka, <data-dir>/hdfs), log in <data-dir>/logs/stack.log.
--docker: docker compose brings up Apache Kafka (KRaft) and a Hadoop namenode + datanode at the same addresses.
Either way, game up waits until a Kafka admin can fetch metadata and WebHDFS answers GETFILESTATUS on /, creates the events topic if missing, and writes <data-dir>/stack.json so every other command finds the stack. If the stack is already up it is reported as it is.`
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --kafka-port 19092 --hdfs-port 19870 --partitions 6',
    '<%= config.bin %> up --docker',
    '<%= config.bin %> up --json',
  ]
  static override flags = {
    'kafka-port': kafkaPortFlag,
    'hdfs-port': hdfsPortFlag,
    'datanode-port': Flags.integer({
      summary: 'Docker mode: the datanode HTTP port published on the host (default 9864).',
      env: 'GAME_DATANODE_PORT',
      min: 1,
      max: 65_535,
    }),
    partitions: Flags.integer({
      summary: 'Partitions of the events topic when it is created (default 3).',
      env: 'GAME_PARTITIONS',
      min: 1,
    }),
    topic: topicFlag,
    bind: Flags.string({
      summary: 'Embedded mode: address to listen on (default 127.0.0.1).',
      env: 'GAME_BIND',
    }),
    fsync: Flags.string({
      summary: 'Embedded broker fsync policy: a flush interval in ms (default 100) or "always".',
      env: 'GAME_FSYNC',
    }),
    docker: Flags.boolean({ summary: 'Run the real stack with docker compose instead of the embedded one.' }),
    timeout: Flags.integer({
      summary: 'Seconds to wait for the services to answer (default 60, docker 300).',
      min: 1,
    }),
  }

  async run(): Promise<StackStatusResult> {
    const { flags } = await this.parse(Up)
    const config = this.configFromFlags(flags)
    const result = await startStack({
      mode: flags.docker ? 'docker' : 'embedded',
      dataDir: config.dataDir,
      bind: config.bind,
      kafkaPort: config.kafkaPort,
      hdfsPort: config.hdfsPort,
      datanodePort: flags['datanode-port'],
      topic: config.topic,
      partitions: config.partitions,
      hdfsUser: config.hdfsUser,
      fsync: config.fsync,
      maxRequestBytes: config.maxRequestBytes,
      daemonCommand: [process.execPath, path.join(this.config.root, 'bin', 'run.js'), 'stack', 'daemon'],
      composeFile: path.join(this.config.root, 'docker-compose.yml'),
      spawner: nodeSpawner,
      timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
      onProgress: (line) => this.progress(line),
      signal: this.interruptSignal(),
    })
    if (!this.jsonEnabled()) {
      this.log(renderTable(STATUS_HEAD, statusRows(result), { color: this.color }))
    }
    for (const w of result.warnings ?? []) this.progress(`WARNING: ${w}`)
    // An already-running stack whose services do not answer (e.g. containers stopped behind our back).
    if (!allRunning(result.services)) process.exitCode = ExitCode.unreachable
    return result
  }
}
