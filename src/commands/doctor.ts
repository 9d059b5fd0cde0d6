import { BaseCommand } from '../base-command.js'
import { apiUrlFlag, brokersFlag, lakeFlag } from '../flags.js'
import { GameError } from '../lib/errors.js'
import { type DoctorResult, runDoctor } from '../lib/stack/doctor.js'
import { nodeSpawner } from '../lib/stack/spawner.js'
import { renderDoctorTable } from '../ui/doctor.js'
import { terminalWidth } from '../ui/terminal.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Check this machine and the stack, with a fix for each problem.'
  static override description =
    'Checks: Node version (>= 20.19), data dir writable, ports 9092/9870/5000 free or held by our stack, Docker engine (informative), stack health (or, with --brokers, that cluster), API /healthz, lake readable, free disk space. Exits 1 when a check fails.'
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --json',
    '<%= config.bin %> doctor --brokers kafka:9092 --lake hdfs://namenode:9870/tmp',
  ]
  static override flags = { 'api-url': apiUrlFlag, lake: lakeFlag, brokers: brokersFlag }

  async run(): Promise<DoctorResult> {
    const { flags } = await this.parse(Doctor)
    const config = this.configFromFlags(flags)
    const apiPort = Number(new URL(config.apiUrl).port || 80)
    const result = await runDoctor({
      dataDir: config.dataDir,
      nodeVersion: process.versions.node,
      bind: config.bind,
      ports: [
        { name: 'kafka', port: config.kafkaPort, flag: '--kafka-port / GAME_KAFKA_PORT' },
        { name: 'hdfs', port: config.hdfsPort, flag: '--hdfs-port / GAME_HDFS_PORT' },
        { name: 'api', port: apiPort, flag: '--api-url / GAME_API_URL' },
      ],
      apiUrl: config.apiUrl,
      lake: config.lake,
      hdfsUser: config.hdfsUser,
      spawner: nodeSpawner,
      externalBrokers: flags.brokers === undefined ? undefined : config.brokers,
      apiRequired: flags['api-url'] !== undefined,
    })
    if (!this.jsonEnabled()) {
      this.log(
        renderDoctorTable(result, {
          color: this.color,
          width: terminalWidth(),
        }),
      )
      if (result.ok) this.log('All checks passed.')
    }
    if (!result.ok) {
      const failed = result.checks.filter((c) => !c.ok)
      return this.resultFailed(
        result,
        new GameError(
          'DOCTOR_CHECKS_FAILED',
          `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}`,
          {
            hint: failed[0].fix,
            details: { failed: failed.map((c) => c.name) },
          },
        ),
      )
    }
    return result
  }
}
