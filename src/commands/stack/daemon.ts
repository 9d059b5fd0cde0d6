import { writeSync } from 'node:fs'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { hdfsPortFlag, kafkaPortFlag } from '../../flags.js'
import { runDaemon } from '../../lib/stack/daemon.js'
import { embeddedServices } from '../../lib/stack/embedded.js'
import { createLineWriter } from '../../lib/stack/log-writer.js'

/** The hidden entry point `game up` runs in the background. */
export default class StackDaemon extends BaseCommand {
  static override hidden = true
  static override summary =
    'Run the embedded stack in the foreground (what `game up` starts in the background).'
  static override description =
    'Starts the Kafka broker and the WebHDFS gateway, writes <data-dir>/stack.json, and runs until SIGTERM/SIGINT, then closes both and removes the state file. Logs go to stdout.'
  static override examples = ['<%= config.bin %> stack daemon --kafka-port 9092 --hdfs-port 9870']
  static override flags = {
    'kafka-port': kafkaPortFlag,
    'hdfs-port': hdfsPortFlag,
    bind: Flags.string({ summary: 'Address to listen on.', env: 'GAME_BIND' }),
    fsync: Flags.string({ summary: 'Broker fsync policy.', env: 'GAME_FSYNC' }),
    'max-request-bytes': Flags.integer({
      summary: 'Largest request the broker accepts (socket.request.max.bytes).',
      env: 'GAME_MAX_REQUEST_BYTES',
      min: 1,
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(StackDaemon)
    const config = this.configFromFlags(flags)
    // Straight to fd 1 (the stack log): process.stdout would die of the first ENOSPC on a full disk.
    const writeLine = createLineWriter((text) => writeSync(1, text))
    const log = (line: string) => writeLine(`${new Date().toISOString()} ${line}`)
    const signal = this.interruptSignal()
    // The parent may be gone; never die of a closed IPC channel.
    process.on('disconnect', () => {})
    try {
      await runDaemon({
        dataDir: config.dataDir,
        pid: process.pid,
        bind: config.bind,
        signal,
        log: (line) => log(`[daemon] ${line}`),
        notify: (message) => {
          if (process.send && process.connected) process.send(message, () => {})
        },
        services: embeddedServices({
          dataDir: config.dataDir,
          bind: config.bind,
          kafkaPort: config.kafkaPort,
          hdfsPort: config.hdfsPort,
          fsync: config.fsync,
          maxRequestBytes: config.maxRequestBytes,
          hdfsUser: config.hdfsUser,
          hdfsAllowedHosts: config.hdfsAllowedHosts,
          log: (service, line) => log(`[${service}] ${line}`),
        }),
      })
    } finally {
      if (process.connected) process.disconnect()
    }
  }
}
