import { describe, expect, it } from 'vitest'
import { logDirsFromResponse } from '../../../src/lib/stack/probes.js'
import {
  allRunning,
  degradedServices,
  storageProblem,
  toServiceStatus,
} from '../../../src/lib/stack/status.js'
import { statusRows, topicRows } from '../../../src/ui/status.js'

describe('status reduction', () => {
  it('maps probe results to states', () => {
    expect(
      toServiceStatus(
        { name: 'kafka', address: 'h:1', pid: 5 },
        { ok: true, detail: 'fine', latencyMs: 3.2 },
      ),
    ).toEqual({
      name: 'kafka',
      address: 'h:1',
      state: 'running',
      pid: 5,
      detail: 'fine',
      latencyMs: 3.2,
    })
    expect(toServiceStatus({ name: 'hdfs', address: 'h:2' }, { ok: false, detail: 'ECONNREFUSED' })).toEqual({
      name: 'hdfs',
      address: 'h:2',
      state: 'unreachable',
      detail: 'ECONNREFUSED',
    })
    expect(toServiceStatus({ name: 'x', address: 'h:3' }, undefined).state).toBe('stopped')
  })

  it('a Kafka whose log dir answers KAFKA_STORAGE_ERROR is degraded, with free space and a hint', () => {
    const storage = logDirsFromResponse([
      { errorCode: 56, logDir: '/data/kafka', topics: [], totalBytes: 40n * 1024n * 1024n, usableBytes: 0n },
    ])
    expect(storage).toEqual({
      ok: false,
      logDirs: [{ dir: '/data/kafka', ok: false, usableBytes: 0, totalBytes: 40 * 1024 * 1024 }],
    })
    const s = toServiceStatus({ name: 'kafka', address: 'h:1' }, { ok: true, detail: '1 broker(s)', storage })
    expect(s.state).toBe('degraded')
    expect(s.detail).toBe('cannot write /data/kafka, 0 B free of 40.0 MiB (KAFKA_STORAGE_ERROR)')
    expect(s.hint).toMatch(
      /^Free space at \/data\/kafka \(check with `df -h \/data\/kafka`\); .*resumes by itself/,
    )
    expect(s.storage).toBe(storage)
    // Degraded still answers: allRunning (reachability) holds, degradedServices names it.
    expect(allRunning([s])).toBe(true)
    expect(degradedServices([s]).map((x) => x.name)).toEqual(['kafka'])
    // v0-3 answers carry no space (-1): none shown; a healthy dir is no problem.
    const old = logDirsFromResponse([
      { errorCode: 56, logDir: '/k', topics: [], totalBytes: -1n, usableBytes: -1n },
    ])
    expect(storageProblem(old)?.detail).toBe('cannot write /k (KAFKA_STORAGE_ERROR)')
    const fine = logDirsFromResponse([
      { errorCode: 0, logDir: '/k', topics: [], totalBytes: 10n, usableBytes: 5n },
    ])
    expect(storageProblem(fine)).toBeUndefined()
    expect(
      toServiceStatus({ name: 'kafka', address: 'h:1' }, { ok: true, detail: 'x', storage: fine }).state,
    ).toBe('running')
  })

  it('allRunning needs every service up and at least one', () => {
    const up = toServiceStatus({ name: 'a', address: 'h:1' }, { ok: true, detail: '' })
    const down = toServiceStatus({ name: 'b', address: 'h:2' }, { ok: false, detail: 'no' })
    expect(allRunning([up])).toBe(true)
    expect(allRunning([up, down])).toBe(false)
    expect(allRunning([])).toBe(false)
  })

  it('renders status rows: service, address, state, health, latency, pid, data dir', () => {
    const rows = statusRows({
      mode: 'embedded',
      dataDir: '/data',
      pid: 42,
      services: [
        {
          name: 'kafka',
          address: '127.0.0.1:9092',
          state: 'running',
          pid: 42,
          detail: '1 broker(s)',
          latencyMs: 4.5,
        },
        { name: 'hdfs', address: '127.0.0.1:9870', state: 'unreachable', pid: 42, detail: 'ECONNREFUSED' },
        {
          name: 'api',
          address: '127.0.0.1:5000',
          state: 'running',
          pid: 77,
          detail: 'HTTP 200',
          latencyMs: 1,
        },
      ],
    })
    expect(rows).toEqual([
      ['kafka', '127.0.0.1:9092', 'running', '1 broker(s)', '4.5 ms', 42, '/data'],
      ['hdfs', '127.0.0.1:9870', 'unreachable', 'ECONNREFUSED', '', 42, '/data'],
      ['api', '127.0.0.1:5000', 'running', 'HTTP 200', '1 ms', 77, ''],
    ])
    const docker = statusRows({
      mode: 'docker',
      dataDir: '/data',
      composeFile: '/repo/docker-compose.yml',
      services: [{ name: 'kafka', address: 'localhost:9092', state: 'running' }],
    })
    expect(docker[0][5]).toBe('docker')
    const external = statusRows({
      mode: 'external',
      dataDir: '/data',
      services: [{ name: 'kafka', address: 'k1:9092,k2:9092', state: 'running' }],
    })
    expect(external[0]).toEqual([
      'kafka',
      'k1:9092,k2:9092',
      'running',
      '',
      '',
      'external',
      '(external cluster)',
    ])
    expect(docker[0][6]).toContain('/repo/docker-compose.yml')
  })

  it('renders topic rows with message counts from offsets', () => {
    expect(
      topicRows([
        {
          name: 'game_events',
          partitions: [
            { partition: 0, earliest: '0', latest: '10' },
            { partition: 1, earliest: '5', latest: '7' },
          ],
        },
      ]),
    ).toEqual([
      ['game_events', 0, '0', '10', '10'],
      ['game_events', 1, '5', '7', '2'],
    ])
  })
})

describe('connectHost', () => {
  it('dials loopback for wildcard binds, the bind address otherwise', async () => {
    const { connectHost } = await import('../../../src/lib/stack/embedded.js')
    expect(connectHost('0.0.0.0')).toBe('127.0.0.1')
    expect(connectHost('::')).toBe('127.0.0.1')
    expect(connectHost('10.0.0.5')).toBe('10.0.0.5')
  })
})

describe('formatServiceLog', () => {
  it('drops debug, appends extra fields as JSON', async () => {
    const { formatServiceLog } = await import('../../../src/lib/stack/embedded.js')
    expect(formatServiceLog('debug', 'x')).toBeUndefined()
    expect(formatServiceLog('info', 'listening', { port: 1 })).toBe('info listening {"port":1}')
    expect(formatServiceLog('warn', 'slow', {})).toBe('warn slow')
  })
})
