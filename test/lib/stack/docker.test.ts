import { describe, expect, it } from 'vitest'
import {
  checkDockerEngine,
  composeDown,
  composeEnv,
  composeLogsArgs,
  composeUp,
  dockerServices,
  requireDockerEngine,
} from '../../../src/lib/stack/docker.js'
import { fakeSpawner } from './fake-spawner.js'

const PORTS = { kafkaPort: 19092, hdfsPort: 19870, datanodePort: 19864 }

describe('docker compose driver', () => {
  it('engine present: docker info answers with the server version', async () => {
    const spawner = fakeSpawner(() => ({ stdout: '27.3.1\n' }))
    expect(await checkDockerEngine(spawner)).toEqual({ ok: true, detail: 'engine 27.3.1' })
    expect(spawner.calls[0].args).toEqual(['info', '--format', '{{.ServerVersion}}'])
  })

  it('engine not running: exit 4 with the hint to use the embedded stack', async () => {
    const spawner = fakeSpawner(() => ({
      code: 1,
      stderr: 'Cannot connect to the Docker daemon at unix:///x.sock.\n',
    }))
    const check = await checkDockerEngine(spawner)
    expect(check.ok).toBe(false)
    expect(check.detail).toContain('Cannot connect to the Docker daemon')
    const error = await requireDockerEngine(spawner).catch((e) => e)
    expect(error.code).toBe('DOCKER_UNAVAILABLE')
    expect(error.exitCode).toBe(4)
    expect(error.hint).toContain('without --docker')
  })

  it('docker not installed: says so', async () => {
    const enoent = Object.assign(new Error('spawn docker ENOENT'), { code: 'ENOENT' })
    const spawner = fakeSpawner(() => ({ code: null, error: enoent }))
    expect((await checkDockerEngine(spawner)).detail).toContain('not installed')
  })

  it('compose up/down pass the compose file, flags and the port environment', async () => {
    const spawner = fakeSpawner(() => ({}))
    await composeUp(spawner, '/r/docker-compose.yml', PORTS)
    await composeDown(spawner, '/r/docker-compose.yml', { volumes: true })
    await composeDown(spawner, '/r/docker-compose.yml', { volumes: false })
    expect(spawner.calls.map((c) => c.args)).toEqual([
      ['compose', '-f', '/r/docker-compose.yml', 'up', '-d', '--wait'],
      ['compose', '-f', '/r/docker-compose.yml', 'down', '-v'],
      ['compose', '-f', '/r/docker-compose.yml', 'down'],
    ])
    expect(spawner.calls[0].options?.env).toEqual(composeEnv(PORTS))
    expect(composeEnv(PORTS)).toEqual({
      GAME_KAFKA_PORT: '19092',
      GAME_HDFS_PORT: '19870',
      GAME_DATANODE_PORT: '19864',
    })
  })

  it('compose up failure carries the tail of its output', async () => {
    const spawner = fakeSpawner(() => ({ code: 18, stderr: 'line1\nError: pull access denied\n' }))
    const error = await composeUp(spawner, '/c.yml', PORTS).catch((e) => e)
    expect(error.code).toBe('COMPOSE_FAILED')
    expect(error.message).toContain('exit 18')
    expect(error.message).toContain('pull access denied')
  })

  it('logs args map our service names to compose services', () => {
    expect(composeLogsArgs('/c.yml', 'hdfs', true)).toEqual([
      'compose',
      '-f',
      '/c.yml',
      'logs',
      '--no-color',
      '-f',
      'namenode',
      'datanode',
    ])
    expect(composeLogsArgs('/c.yml', 'kafka', false)).toEqual([
      'compose',
      '-f',
      '/c.yml',
      'logs',
      '--no-color',
      'kafka',
    ])
    expect(composeLogsArgs('/c.yml', undefined, false)).toEqual([
      'compose',
      '-f',
      '/c.yml',
      'logs',
      '--no-color',
    ])
  })

  it('docker services sit at localhost on the published ports', () => {
    expect(dockerServices(PORTS).map((s) => [s.name, s.address])).toEqual([
      ['kafka', 'localhost:19092'],
      ['hdfs', 'localhost:19870'],
      ['datanode', 'localhost:19864'],
    ])
  })
})
