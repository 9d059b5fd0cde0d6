import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BrokerHandle, startBroker } from '../../src/lib/broker/index.js'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../src/lib/hdfs/gateway.js'
import { ROOT, runCli } from '../helpers/cli.js'

/**
 * Docker mode with a fake `docker` on PATH (no engine here). The fake records its argv; the
 * "containers" are our own broker and gateway started by the test on free ports, so the same
 * probes, topic creation and status tables run for real.
 */
const FAKE_DOCKER_DIR = path.join(ROOT, 'test', 'fixtures', 'fake-docker')
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml')

interface DockerCall {
  argv: string[]
  env: Record<string, string | undefined>
}

describe('docker mode (fake docker CLI)', () => {
  let home: string
  let callsFile: string
  let broker: BrokerHandle
  let gateway: WebHdfsGateway
  let datanode: http.Server
  let datanodePort: number
  let env: Record<string, string>

  const calls = (): DockerCall[] =>
    existsSync(callsFile)
      ? readFileSync(callsFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : []

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-docker-'))
    callsFile = path.join(home, 'docker-calls.ndjson')
    broker = await startBroker({ port: 0, dataDir: path.join(home, 'fake-kafka'), storage: 'memory' })
    gateway = await startWebHdfsGateway({ port: 0, root: path.join(home, 'fake-hdfs') })
    datanode = http.createServer((_req, res) => res.end('datanode'))
    await new Promise<void>((r) => datanode.listen(0, '127.0.0.1', r))
    datanodePort = (datanode.address() as AddressInfo).port
    env = {
      GAME_HOME: path.join(home, 'game'),
      PATH: `${FAKE_DOCKER_DIR}${path.delimiter}${process.env.PATH}`,
      FAKE_DOCKER_LOG: callsFile,
      FAKE_DOCKER_MODE: 'ok',
    }
  })
  afterAll(async () => {
    await broker?.close()
    await gateway?.close()
    await new Promise((r) => datanode?.close(r))
    rmSync(home, { recursive: true, force: true })
  })

  const ports = () => [
    '--kafka-port',
    String(broker.port),
    '--hdfs-port',
    String(gateway.port),
    '--datanode-port',
    String(datanodePort),
  ]

  it('a missing engine: exit 4 with the hint to use the embedded stack, compose never runs', async () => {
    const r = await runCli(['up', '--docker', ...ports()], { env: { ...env, FAKE_DOCKER_MODE: 'no-engine' } })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('Docker engine is not available')
    expect(r.stderr).toMatch(/Hint:.*without --docker/)
    expect(calls().map((c) => c.argv[0])).toEqual(['info'])
    expect(existsSync(path.join(home, 'game', 'stack.json'))).toBe(false)
  })

  it('docker compose up failing: exit 1 with compose output and a hint', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['up', '--docker', ...ports()], {
      env: { ...env, FAKE_DOCKER_MODE: 'compose-fails' },
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('pull access denied')
    expect(r.stderr).toContain('Hint:')
  })

  it('up --docker: docker info, compose up -d --wait with the ports, same probes and status table', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['up', '--docker', ...ports(), '--json'], { env })
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({
      mode: 'docker',
      composeFile: COMPOSE_FILE,
      topicCreated: true,
      services: [
        { name: 'kafka', address: `localhost:${broker.port}`, state: 'running' },
        { name: 'hdfs', address: `localhost:${gateway.port}`, state: 'running' },
        { name: 'datanode', address: `localhost:${datanodePort}`, state: 'running' },
      ],
    })
    const argvs = calls().map((c) => c.argv)
    expect(argvs[0][0]).toBe('info')
    expect(argvs[1]).toEqual(['compose', '-f', COMPOSE_FILE, 'up', '-d', '--wait'])
    expect(calls()[1].env).toEqual({
      GAME_KAFKA_PORT: String(broker.port),
      GAME_HDFS_PORT: String(gateway.port),
      GAME_DATANODE_PORT: String(datanodePort),
    })
    const state = JSON.parse(readFileSync(path.join(home, 'game', 'stack.json'), 'utf8'))
    expect(state).toMatchObject({
      mode: 'docker',
      composeFile: COMPOSE_FILE,
      addresses: { kafka: `localhost:${broker.port}`, hdfs: `localhost:${gateway.port}` },
    })
    expect(state.pid).toBeUndefined()
  })

  it('up --docker again reports the running docker stack without calling compose', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['up', '--docker', '--json'], { env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'docker', alreadyRunning: true })
    expect(calls()).toEqual([])
  })

  it('status works in docker mode, with topics', async () => {
    const r = await runCli(['status', '--json'], { env })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.mode).toBe('docker')
    expect(doc.services).toHaveLength(3)
    expect(doc.topics.map((t: { name: string }) => t.name)).toContain('game_events')
    const table = await runCli(['status'], { env })
    expect(table.stdout).toMatch(/datanode\s+\|\s+localhost:\d+\s+\|\s+running\s+\|.*\|\s+docker\s+\|/)
  })

  it('logs <service> runs docker compose logs for the compose services behind it', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['logs', 'hdfs'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('fake log line from namenode')
    expect(r.stdout).toContain('fake log line from datanode')
    expect(calls()[0].argv).toEqual([
      'compose',
      '-f',
      COMPOSE_FILE,
      'logs',
      '--no-color',
      'namenode',
      'datanode',
    ])
  })

  it('doctor reports the engine (informative) and the stack health', async () => {
    const r = await runCli(['doctor', '--json'], { env })
    const doc = JSON.parse(r.stdout)
    const byName = Object.fromEntries(doc.checks.map((c: { name: string }) => [c.name, c]))
    expect(byName.docker).toMatchObject({ ok: true })
    expect(byName.docker.detail).toContain('27.3.1')
    expect(byName.docker.detail).toContain('compose 2.29.7')
    expect(byName.stack).toMatchObject({ ok: true })
    expect(byName.stack.detail).toContain('docker stack')
    // No API runs here and none was asked about: that is "not running", not a failure (game up
    // does not start the API).
    expect(byName.api).toMatchObject({ ok: true, level: 'info' })
    expect(byName.api.detail).toContain('not running')
    const failed = doc.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name)
    expect(r.code).toBe(failed.length === 0 ? 0 : 1)
    expect(failed).not.toContain('api')
  })

  it('down --purge --yes runs compose down -v and forgets the stack', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['down', '--purge', '--yes', '--json'], { env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'docker', purged: true })
    expect(calls()[0].argv).toEqual(['compose', '-f', COMPOSE_FILE, 'down', '-v'])
    expect(existsSync(path.join(home, 'game', 'stack.json'))).toBe(false)
    const st = await runCli(['status'], { env })
    expect(st.code).toBe(4)
  })

  it('status --brokers/--lake probes an existing cluster without any stack (mode external)', async () => {
    const other = { ...env, GAME_HOME: path.join(home, 'nothing-here') }
    const r = await runCli(
      [
        'status',
        '--brokers',
        `127.0.0.1:${broker.port}`,
        '--lake',
        `hdfs://127.0.0.1:${gateway.port}/tmp`,
        '--json',
      ],
      { env: other },
    )
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.mode).toBe('external')
    expect(doc.services).toEqual([
      expect.objectContaining({ name: 'kafka', address: `127.0.0.1:${broker.port}`, state: 'running' }),
      expect.objectContaining({ name: 'hdfs', address: `127.0.0.1:${gateway.port}`, state: 'running' }),
    ])
    expect(doc.services[0].detail).toMatch(/broker/)
    expect(doc.topics.map((t: { name: string }) => t.name)).toContain('game_events')

    const doctor = await runCli(
      [
        'doctor',
        '--brokers',
        `127.0.0.1:${broker.port}`,
        '--lake',
        `hdfs://127.0.0.1:${gateway.port}/tmp`,
        '--json',
      ],
      { env: other },
    )
    const checks = JSON.parse(doctor.stdout).checks as Array<{ name: string; ok: boolean; detail: string }>
    expect(
      checks.find((c) => c.name === 'cluster'),
      doctor.stdout,
    ).toMatchObject({ ok: true })
    expect(checks.find((c) => c.name === 'stack')).toBeUndefined()
    expect(checks.find((c) => c.name === 'lake')).toMatchObject({ ok: true })

    const down = await runCli(['status', '--brokers', '127.0.0.1:1', '--json'], { env: other })
    expect(down.code).toBe(4)
    expect(JSON.parse(down.stdout).services[0].state).toBe('unreachable')
  })

  it('down --docker without state still runs compose down (keeping volumes)', async () => {
    rmSync(callsFile, { force: true })
    const r = await runCli(['down', '--docker'], { env })
    expect(r.code).toBe(0)
    expect(calls()[0].argv).toEqual(['compose', '-f', COMPOSE_FILE, 'down'])
  })
})
