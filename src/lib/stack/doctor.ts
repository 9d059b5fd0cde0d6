import { access, mkdir, rm, statfs, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { formatBytes } from '../bytes.js'
import { checkComposePlugin, checkDockerEngine } from './docker.js'
import { exposureWarning } from './exposure.js'
import { probeGameApi, webHdfsProbe } from './probes.js'
import type { Spawner } from './spawner.js'
import { externalServices, stackHealth } from './stack.js'
import { probeServices } from './supervisor.js'

export interface DoctorCheck {
  name: string
  ok: boolean
  /** 'info': nothing wrong, but worth a line (e.g. the API is not running and nobody asked for it). */
  level?: 'info'
  detail: string
  /** What to do when it is not ok ('' when ok). */
  fix: string
}

export interface DoctorResult {
  ok: boolean
  checks: DoctorCheck[]
}

export interface DoctorOptions {
  dataDir: string
  nodeVersion: string
  bind: string
  /** Ports the embedded stack and the API use by default: kafka, hdfs, api. */
  ports: Array<{ name: string; port: number; flag: string }>
  apiUrl: string
  lake: string
  hdfsUser?: string
  spawner: Spawner
  /** Brokers given with --brokers / GAME_BROKERS: check that cluster instead of the local stack. */
  externalBrokers?: string[]
  /** Minimum free disk space in bytes for the data dir (default 1 GiB). */
  minFreeBytes?: number
  /** The user asked about the API (--api-url / GAME_API_URL): a silent API is then a failure. */
  apiRequired?: boolean
}

const MIN_NODE = [20, 19, 0]

/** Pure: is this Node version at least 20.19? */
export function nodeVersionOk(version: string): boolean {
  const parts = version
    .replace(/^v/, '')
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0)
  for (let i = 0; i < 3; i++) {
    if ((parts[i] ?? 0) !== MIN_NODE[i]) return (parts[i] ?? 0) > MIN_NODE[i]
  }
  return true
}

/** Whether a TCP port can be bound on host (false = something holds it). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir)
  for (;;) {
    try {
      await access(current)
      return current
    } catch {
      const parent = path.dirname(current)
      if (parent === current) return current
      current = parent
    }
  }
}

/** `game doctor`: every check with a fix. Checks never throw; a failing check is ok: false. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorResult> {
  const checks: DoctorCheck[] = []
  const add = (name: string, ok: boolean, detail: string, fix: string) =>
    checks.push({ name, ok, detail, fix: ok ? '' : fix })

  add(
    'node',
    nodeVersionOk(options.nodeVersion),
    `Node ${options.nodeVersion}`,
    'Install Node.js 20.19 or newer (https://nodejs.org, or `nvm install 20`).',
  )

  const exposed = exposureWarning(
    options.bind,
    `With bind ${options.bind}, the Kafka broker and the WebHDFS gateway`,
  )
  if (exposed) checks.push({ name: 'bind', ok: true, level: 'info', detail: `WARNING: ${exposed}`, fix: '' })

  try {
    await mkdir(options.dataDir, { recursive: true })
    const probe = path.join(options.dataDir, `.doctor-${process.pid}`)
    await writeFile(probe, 'ok')
    await rm(probe)
    add('data dir', true, `${options.dataDir} is writable`, '')
  } catch (error) {
    add(
      'data dir',
      false,
      `${options.dataDir}: ${(error as Error).message}`,
      'Fix its permissions or point --data-dir / GAME_HOME at a writable directory.',
    )
  }

  const health = await stackHealth(options.dataDir, options.spawner, options.hdfsUser)
  const api = await probeGameApi(options.apiUrl)
  const ours = new Map<number, string>()
  for (const s of health.state?.services ?? []) {
    ours.set(Number(s.address.slice(s.address.lastIndexOf(':') + 1)), s.name)
  }
  for (const { name, port, flag } of options.ports) {
    if (await portFree(options.bind, port)) {
      add(`port ${port}`, true, `${port} (${name}) is free`, '')
    } else if (ours.has(port)) {
      add(`port ${port}`, true, `${port} is held by the game stack (${ours.get(port)})`, '')
    } else if (name === 'api' && api.kind === 'game-api') {
      add(`port ${port}`, true, `${port} is held by the game API`, '')
    } else {
      add(
        `port ${port}`,
        false,
        `${port} (${name}) is in use by another program`,
        `Stop the program holding ${port} (\`lsof -i :${port}\`), or use another port with ${flag}.`,
      )
    }
  }

  const docker = await checkDockerEngine(options.spawner)
  const compose = docker.ok ? await checkComposePlugin(options.spawner) : undefined
  add(
    'docker',
    true,
    docker.ok
      ? `Docker ${docker.detail}, ${compose?.ok ? compose.detail : `${compose?.detail}: install docker-compose-plugin for game up --docker`}`
      : `${docker.detail} (optional: only for game up --docker)`,
    '',
  )

  if (options.externalBrokers && options.externalBrokers.length > 0) {
    // A cluster given with --brokers: check it instead of a local stack.
    const services = externalServices(options.externalBrokers, options.lake, options.hdfsUser)
    const probes = await probeServices(services)
    const down = services.filter((_, i) => !probes[i].ok)
    add(
      'cluster',
      down.length === 0,
      down.length === 0
        ? `external cluster: ${services.map((s) => `${s.name} ${s.address}`).join(', ')}`
        : `not answering: ${down.map((s) => `${s.name} ${s.address} (${probes[services.indexOf(s)].detail})`).join(', ')}`,
      'Check --brokers / GAME_BROKERS and --lake / GAME_LAKE, and that the cluster is reachable from here.',
    )
  } else if (!health.state || !health.result) {
    add('stack', false, `no stack running for ${options.dataDir}`, 'Run `game up` (or `game up --docker`).')
  } else {
    const down = health.result.services.filter((s) => s.state !== 'running' && s.state !== 'degraded')
    add(
      'stack',
      down.length === 0,
      down.length === 0
        ? `${health.result.mode} stack: ${health.result.services.map((s) => `${s.name} ${s.address}`).join(', ')}`
        : `not answering: ${down.map((s) => `${s.name} ${s.address} (${s.detail ?? s.state})`).join(', ')}`,
      'Run `game logs` to see why, then `game down && game up`.',
    )
    const kafka = health.result.services.find((s) => s.name === 'kafka')
    if (kafka?.storage) {
      // The broker's own word on its log (DescribeLogDirs), free space included.
      add(
        'kafka storage',
        kafka.state !== 'degraded',
        kafka.state === 'degraded'
          ? (kafka.detail ?? 'storage error')
          : kafka.storage.logDirs
              .map(
                (d) =>
                  `${d.dir} writable${d.usableBytes === undefined ? '' : `, ${formatBytes(d.usableBytes)} free`}`,
              )
              .join('; '),
        kafka.hint ?? 'Free space in the data dir (`df -h`).',
      )
    }
  }

  if (api.kind === 'none' && !options.apiRequired) {
    // `game up` does not start the API: not running is not a failure unless asked about.
    checks.push({
      name: 'api',
      ok: true,
      level: 'info',
      detail: `not running at ${options.apiUrl} (start it with \`game api\` when you need it)`,
      fix: '',
    })
  } else if (api.kind === 'game-api' && !api.ok) {
    add(
      'api',
      false,
      `${options.apiUrl}/healthz: ${api.detail}`,
      /Kafka unreachable/.test(api.detail)
        ? 'The API runs but cannot reach Kafka: run `game up` (or fix --brokers / GAME_BROKERS for `game api`).'
        : 'Run `game logs` and check the API process.',
    )
  } else {
    add(
      'api',
      api.ok,
      `${options.apiUrl}/healthz: ${api.detail}`,
      api.kind === 'other'
        ? `Something else answers at ${options.apiUrl}: stop it, or run the API elsewhere (game api --port, GAME_API_URL).`
        : 'Start the API with `game api`, or set --api-url / GAME_API_URL.',
    )
  }

  checks.push(await lakeCheck(options.lake, options.hdfsUser))

  try {
    const at = await nearestExisting(options.dataDir)
    const fs = await statfs(at)
    const free = Number(fs.bavail) * Number(fs.bsize)
    const min = options.minFreeBytes ?? 1024 ** 3
    add(
      'disk space',
      free >= min,
      `${formatBytes(free)} free at ${at}`,
      `Free up space at ${at} (\`df -h ${at}\`; need at least ${formatBytes(min)}), or move --data-dir to a bigger disk. On a full disk the broker refuses produce requests (KAFKA_STORAGE_ERROR) and resumes by itself once there is room.`,
    )
  } catch (error) {
    add('disk space', false, (error as Error).message, 'Check that the data dir is on a mounted file system.')
  }

  return { ok: checks.every((c) => c.ok), checks }
}

/** The lake is readable: WebHDFS GETFILESTATUS on its root, or a readable local directory. */
async function lakeCheck(lake: string, hdfsUser?: string): Promise<DoctorCheck> {
  const url = new URL(lake)
  if (url.protocol === 'file:') {
    try {
      await access(url.pathname)
      return { name: 'lake', ok: true, detail: `${lake} is readable`, fix: '' }
    } catch (error) {
      return {
        name: 'lake',
        ok: false,
        detail: `${lake}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        fix: 'Create the directory, or run `game stream` to write the lake first.',
      }
    }
  }
  const address = url.host
  const root = await webHdfsProbe(hdfsUser)(address)
  return {
    name: 'lake',
    ok: root.ok,
    detail: root.ok ? `WebHDFS at ${address} answers (${lake})` : `WebHDFS at ${address}: ${root.detail}`,
    fix: root.ok ? '' : 'Run `game up`, or set --lake / GAME_LAKE to a reachable lake.',
  }
}
