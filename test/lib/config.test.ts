import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_STREAM, loadConfig, resolveConfig } from '../../src/lib/config.js'
import { GameError } from '../../src/lib/errors.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'game-config-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function expectConfigError(fn: () => unknown, key: string): GameError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GameError)
    const e = error as GameError
    expect(e.exitCode).toBe(3)
    expect(e.message).toContain(key)
    expect(e.hint).toBeTruthy()
    return e
  }
  throw new Error('expected a config error')
}

describe('loadConfig', () => {
  it('uses defaults with nothing set', () => {
    const c = loadConfig({ cwd: dir, env: {} })
    expect(c.dataDir).toBe(path.join(dir, '.game'))
    expect(c.brokers).toEqual(['127.0.0.1:9092'])
    expect(c.topic).toBe('game_events')
    expect(c.lake).toBe('hdfs://127.0.0.1:9870/tmp')
    expect(c.partitions).toBe(3)
    expect(c.prices).toEqual({ sword: 10, knife: 10 })
    expect(c.fsync).toBe(100)
  })

  it('lake upkeep settings: retention, grace, target size, compact', () => {
    const d = loadConfig({ cwd: dir, env: {} })
    expect([d.retention, d.lakeGraceMs, d.compactTargetSize, d.compact]).toEqual([
      undefined,
      3_600_000,
      134_217_728,
      true,
    ])
    const c = loadConfig({
      cwd: dir,
      env: { GAME_RETENTION: '90d', GAME_COMPACT_TARGET_SIZE: '64MB', GAME_COMPACT: 'false' },
      flags: { lakeGraceMs: '0' },
    })
    expect([c.retention, c.lakeGraceMs, c.compactTargetSize, c.compact]).toEqual([
      90 * 86_400_000,
      0,
      64 * 1024 * 1024,
      false,
    ])
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_RETENTION: 'ages' } }), 'retention')
    expectConfigError(
      () => loadConfig({ cwd: dir, env: { GAME_COMPACT_TARGET_SIZE: '0' } }),
      'compactTargetSize',
    )
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_COMPACT: 'maybe' } }), 'compact')
  })

  it('applies flag > env > file > defaults', () => {
    writeFileSync(
      path.join(dir, 'game.config.json'),
      JSON.stringify({ topic: 'from_file', partitions: 5, brokers: 'f:1' }),
    )
    const env = { GAME_TOPIC: 'from_env', GAME_BROKERS: 'e:2' }
    const c = loadConfig({ cwd: dir, env, flags: { topic: 'from_flag' } })
    expect(c.topic).toBe('from_flag')
    expect(c.brokers).toEqual(['e:2'])
    expect(c.partitions).toBe(5)
  })

  it('finds the running stack through the state file', () => {
    const dataDir = path.join(dir, 'home')
    mkdirSync(dataDir)
    writeFileSync(
      path.join(dataDir, 'stack.json'),
      JSON.stringify({ addresses: { kafka: '127.0.0.1:19092', hdfs: '127.0.0.1:19870' } }),
    )
    const c = loadConfig({ cwd: dir, env: { GAME_HOME: dataDir } })
    expect(c.brokers).toEqual(['127.0.0.1:19092'])
    expect(c.lake).toBe('hdfs://127.0.0.1:19870/tmp')
  })

  it('rewrites WebHDFS redirects to the datanode a docker stack published, unless told otherwise', () => {
    const dataDir = path.join(dir, 'docker-home')
    mkdirSync(dataDir)
    writeFileSync(
      path.join(dataDir, 'stack.json'),
      JSON.stringify({
        addresses: { kafka: 'localhost:9092', hdfs: 'localhost:9870', datanode: 'localhost:19864' },
      }),
    )
    expect(loadConfig({ cwd: dir, env: { GAME_HOME: dataDir } }).datanodeHost).toBe('localhost:19864')
    expect(
      loadConfig({ cwd: dir, env: { GAME_HOME: dataDir, GAME_DATANODE_HOST: 'dn:9864' } }).datanodeHost,
    ).toBe('dn:9864')
    expect(loadConfig({ cwd: dir, env: {} }).datanodeHost).toBeUndefined()
  })

  it('takes the broker request size limit (socket.request.max.bytes) from env or file', () => {
    expect(loadConfig({ cwd: dir, env: {} }).maxRequestBytes).toBe(100 * 1024 * 1024)
    expect(loadConfig({ cwd: dir, env: { GAME_MAX_REQUEST_BYTES: '2097152' } }).maxRequestBytes).toBe(2097152)
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_MAX_REQUEST_BYTES: '0' } }), 'maxRequestBytes')
  })

  it('names the key, the value and the fix for bad values', () => {
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_BROKERS: 'nohostport' } }), 'brokers')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_PARTITIONS: '0' } }), 'partitions')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_LAKE: 's3://bucket' } }), 'lake')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_KAFKA_PORT: '70000' } }), 'kafkaPort')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_PRICES: '{"sword":-1}' } }), 'prices.sword')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_FSYNC: 'sometimes' } }), 'fsync')
  })

  it('rejects broken config files with the file named', () => {
    writeFileSync(path.join(dir, 'game.config.json'), '{ not json')
    const e = expectConfigError(() => loadConfig({ cwd: dir, env: {} }), 'game.config.json')
    expect(e.code).toBe('CONFIG_INVALID')
    writeFileSync(path.join(dir, 'game.config.json'), JSON.stringify({ topik: 'x' }))
    expectConfigError(() => loadConfig({ cwd: dir, env: {} }), 'topik')
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_CONFIG: 'missing.json' } }), 'missing.json')
  })

  it('accepts fsync intervals and JSON prices', () => {
    const c = loadConfig({ cwd: dir, env: { GAME_FSYNC: '50', GAME_PRICES: '{"sword":25}' } })
    expect(c.fsync).toBe(50)
    expect(c.prices).toEqual({ sword: 25, knife: 10 })
  })
})

describe('resolveConfig sources', () => {
  it('names the layer each value came from: flag, env (also when oclif filled the flag from it), file, stack, default', () => {
    writeFileSync(path.join(dir, 'game.config.json'), JSON.stringify({ partitions: 6 }))
    const data = path.join(dir, '.game')
    mkdirSync(data, { recursive: true })
    writeFileSync(path.join(data, 'stack.json'), JSON.stringify({ addresses: { kafka: '127.0.0.1:19092' } }))
    const { config, sources } = resolveConfig({
      cwd: dir,
      env: { GAME_TOPIC: 'from_env', GAME_LAKE: 'file:///tmp/lake' },
      flags: { hdfsUser: 'alice', lake: 'file:///tmp/lake' },
    })
    expect(config.brokers).toEqual(['127.0.0.1:19092'])
    expect(sources).toMatchObject({
      hdfsUser: 'flag',
      lake: 'env',
      topic: 'env',
      partitions: 'file',
      brokers: 'stack',
      bind: 'default',
    })
  })

  it('merges the stream section key by key: flags > GAME_STREAM > file > DEFAULT_STREAM, units parsed once', () => {
    expect(loadConfig({ cwd: dir, env: {} }).stream).toEqual(DEFAULT_STREAM)
    writeFileSync(
      path.join(dir, 'game.config.json'),
      JSON.stringify({ stream: { intervalMs: '10s', maxBytes: '1MB', group: 'file-group' } }),
    )
    const { config, sources } = resolveConfig({
      cwd: dir,
      env: { GAME_STREAM: '{"group":"env-group","claimLeaseMs":2500}' },
      flags: { stream: { maxRows: 500, sessionTimeoutMs: '6s' } },
    })
    expect(config.stream).toEqual({
      ...DEFAULT_STREAM,
      group: 'env-group',
      intervalMs: 10_000,
      maxBytes: 1024 * 1024,
      claimLeaseMs: 2500,
      maxRows: 500,
      sessionTimeoutMs: 6000,
    })
    expect(sources.stream).toBe('flag')
    expectConfigError(
      () => loadConfig({ cwd: dir, env: {}, flags: { stream: { intervalMs: 'soon' } } }),
      'stream.intervalMs',
    )
    expectConfigError(() => loadConfig({ cwd: dir, env: { GAME_STREAM: '{"nope":1}' } }), 'stream.nope')
  })
})
