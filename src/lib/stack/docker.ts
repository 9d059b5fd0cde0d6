import { ExitCode, GameError } from '../errors.js'
import { probeHttp, probeKafka, webHdfsProbe } from './probes.js'
import type { RunResult, Spawner } from './spawner.js'
import type { ServiceSpec } from './types.js'

export interface DockerPorts {
  kafkaPort: number
  hdfsPort: number
  datanodePort: number
}

export const DEFAULT_DOCKER_PORTS: DockerPorts = { kafkaPort: 9092, hdfsPort: 9870, datanodePort: 9864 }

/** The compose services behind each of our service names (`game logs hdfs` shows both HDFS containers). */
export const COMPOSE_SERVICES: Record<string, string[]> = {
  kafka: ['kafka'],
  hdfs: ['namenode', 'datanode'],
  namenode: ['namenode'],
  datanode: ['datanode'],
  api: ['api'],
  stream: ['stream'],
}

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}

/** Environment for `docker compose`: the host ports, interpolated by docker-compose.yml. */
export function composeEnv(ports: DockerPorts): Record<string, string> {
  return {
    GAME_KAFKA_PORT: String(ports.kafkaPort),
    GAME_HDFS_PORT: String(ports.hdfsPort),
    GAME_DATANODE_PORT: String(ports.datanodePort),
  }
}

/** Whether a Docker engine answers `docker info`; never throws. */
export async function checkDockerEngine(spawner: Spawner): Promise<{ ok: boolean; detail: string }> {
  const r = await spawner.run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 })
  if (r.code === null) {
    return {
      ok: false,
      detail:
        r.error?.code === 'ENOENT' ? 'docker is not installed (not on PATH)' : `docker: ${r.error?.message}`,
    }
  }
  if (r.code !== 0) return { ok: false, detail: `engine not answering: ${tail(r.stderr || r.stdout, 1)}` }
  return { ok: true, detail: `engine ${r.stdout.trim()}` }
}

/** Whether `docker compose` (the v2 plugin) is installed; never throws. */
export async function checkComposePlugin(spawner: Spawner): Promise<{ ok: boolean; detail: string }> {
  const r = await spawner.run('docker', ['compose', 'version', '--short'], { timeoutMs: 15_000 })
  if (r.code === 0) return { ok: true, detail: `compose ${r.stdout.trim()}` }
  const output = r.stderr || r.stdout || r.error?.message || ''
  return {
    ok: false,
    detail: composePluginMissing(output)
      ? 'the Docker Compose plugin is not installed'
      : `compose: ${tail(output, 1)}`,
  }
}

/** Throws exit 4 with the hint to use the embedded stack when no engine answers. */
export async function requireDockerEngine(spawner: Spawner): Promise<void> {
  const check = await checkDockerEngine(spawner)
  if (!check.ok) {
    throw new GameError('DOCKER_UNAVAILABLE', `Docker engine is not available: ${check.detail}`, {
      exitCode: ExitCode.unreachable,
      hint: 'Start Docker (Docker Desktop / `systemctl start docker`), or run `game up` without --docker for the embedded stack.',
    })
  }
}

/**
 * Pure: whether docker's output says the Compose v2 plugin is missing (`docker compose` then parses
 * `-f` as a flag of `docker` itself, or says compose is not a command).
 */
export function composePluginMissing(output: string): boolean {
  return /unknown shorthand flag: 'f' in -f|'compose' is not a docker command|unknown command "compose"/i.test(
    output,
  )
}

function composeFailed(what: string, r: RunResult): GameError {
  const output = tail(r.stderr || r.stdout || r.error?.message || '')
  if (composePluginMissing(output)) {
    return new GameError(
      'COMPOSE_MISSING',
      `docker compose ${what}: the Docker Compose plugin is not installed`,
      {
        exitCode: ExitCode.unreachable,
        hint: 'Install Docker Compose v2 (the docker-compose-plugin package, or Docker Desktop), check with `docker compose version`, then run again. `game doctor` checks it too.',
        details: { output },
      },
    )
  }
  return new GameError(
    'COMPOSE_FAILED',
    `docker compose ${what} failed (exit ${r.code})${output ? `: ${output}` : ''}`,
    {
      exitCode: ExitCode.failure,
      hint: 'See `game logs <service>` (kafka, namenode, datanode) or `docker compose ps`.',
    },
  )
}

export async function composeUp(spawner: Spawner, composeFile: string, ports: DockerPorts): Promise<void> {
  const r = await spawner.run('docker', ['compose', '-f', composeFile, 'up', '-d', '--wait'], {
    env: composeEnv(ports),
  })
  if (r.code !== 0) throw composeFailed('up', r)
}

export async function composeDown(
  spawner: Spawner,
  composeFile: string,
  options: { volumes: boolean; ports?: DockerPorts },
): Promise<void> {
  const args = ['compose', '-f', composeFile, 'down', ...(options.volumes ? ['-v'] : [])]
  const r = await spawner.run('docker', args, { env: composeEnv(options.ports ?? DEFAULT_DOCKER_PORTS) })
  if (r.code !== 0) throw composeFailed('down', r)
}

/** Pure: the argv of `docker compose logs` for one of our service names (or all). */
export function composeLogsArgs(composeFile: string, service: string | undefined, follow: boolean): string[] {
  const services = service ? (COMPOSE_SERVICES[service] ?? [service]) : []
  return ['compose', '-f', composeFile, 'logs', '--no-color', ...(follow ? ['-f'] : []), ...services]
}

/** The docker stack's services, probed exactly like the embedded ones (plus the datanode's web port). */
export function dockerServices(ports: DockerPorts, hdfsUser?: string): ServiceSpec[] {
  return [
    { name: 'kafka', address: `localhost:${ports.kafkaPort}`, portFlag: '--kafka-port', probe: probeKafka },
    {
      name: 'hdfs',
      address: `localhost:${ports.hdfsPort}`,
      portFlag: '--hdfs-port',
      probe: webHdfsProbe(hdfsUser),
    },
    {
      name: 'datanode',
      address: `localhost:${ports.datanodePort}`,
      portFlag: '--datanode-port',
      probe: async (address) => {
        const r = await probeHttp(`http://${address}/`)
        // Any HTTP answer means the datanode's web server is up.
        return r.ok || r.detail.startsWith('HTTP ') ? { ok: true, detail: r.detail } : r
      },
    },
  ]
}
