import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { DiskBudget } from '../../../src/lib/broker/log/files.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { daemonState } from '../../../src/lib/stack/daemon.js'
import { nodeVersionOk, portFree, runDoctor } from '../../../src/lib/stack/doctor.js'
import { writeState } from '../../../src/lib/stack/state.js'
import { renderDoctorTable } from '../../../src/ui/doctor.js'
import { freePort, holdPort } from './fake-services.js'
import { fakeSpawner } from './fake-spawner.js'

describe('doctor', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'game-doctor-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('node version >= 20.19', () => {
    expect(nodeVersionOk('20.19.0')).toBe(true)
    expect(nodeVersionOk('v20.19.4')).toBe(true)
    expect(nodeVersionOk('22.0.0')).toBe(true)
    expect(nodeVersionOk('20.18.9')).toBe(false)
    expect(nodeVersionOk('18.20.0')).toBe(false)
  })

  it('portFree tells a held port from a free one', async () => {
    const held = await holdPort()
    try {
      expect(await portFree('127.0.0.1', held.port)).toBe(false)
    } finally {
      await held.close()
    }
    expect(await portFree('127.0.0.1', await freePort())).toBe(true)
  })

  it('runs every check with a fix for each failure', async () => {
    const held = await holdPort()
    // Answers /healthz as the game API does (src/lib/api/server.ts).
    const api = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 404
      res.end(JSON.stringify({ ok: true, api: 'up', broker: 'reachable' }))
    })
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r))
    const apiPort = (api.address() as AddressInfo).port
    try {
      const result = await runDoctor({
        dataDir: path.join(dir, 'data'),
        nodeVersion: '20.19.0',
        bind: '127.0.0.1',
        ports: [
          { name: 'kafka', port: await freePort(), flag: '--kafka-port' },
          { name: 'hdfs', port: held.port, flag: '--hdfs-port' },
          { name: 'api', port: apiPort, flag: '--api-url' },
        ],
        apiUrl: `http://127.0.0.1:${apiPort}`,
        lake: `file://${dir}`,
        spawner: fakeSpawner(() => ({ code: 1, stderr: 'Cannot connect to the Docker daemon' })),
      })
      const by = Object.fromEntries(result.checks.map((c) => [c.name, c]))
      expect(Object.keys(by)).toEqual([
        'node',
        'data dir',
        `port ${result.checks[2].name.split(' ')[1]}`,
        `port ${held.port}`,
        `port ${apiPort}`,
        'docker',
        'stack',
        'api',
        'lake',
        'disk space',
      ])
      expect(by.node.ok).toBe(true)
      expect(by['data dir'].ok).toBe(true)
      expect(by[`port ${held.port}`]).toMatchObject({ ok: false })
      expect(by[`port ${held.port}`].fix).toContain('--hdfs-port')
      expect(by[`port ${apiPort}`]).toMatchObject({ ok: true, detail: expect.stringContaining('game API') })
      // Docker is informative only.
      expect(by.docker.ok).toBe(true)
      expect(by.docker.detail).toContain('optional')
      expect(by.stack).toMatchObject({ ok: false, fix: expect.stringContaining('game up') })
      expect(by.api.ok).toBe(true)
      expect(by.lake.ok).toBe(true)
      expect(by['disk space'].detail).toMatch(/free at/)
      expect(result.ok).toBe(false)
      for (const c of result.checks) expect(c.ok ? c.fix === '' : c.fix.length > 0).toBe(true)
    } finally {
      await held.close()
      await new Promise((r) => api.close(r))
    }
  })

  it('a missing file lake and an unwritable data dir fail with fixes', async () => {
    // A data dir below a regular file cannot be created (ENOTDIR), even as root.
    writeFileSync(path.join(dir, 'a-file'), '')
    const result = await runDoctor({
      dataDir: path.join(dir, 'a-file', 'data'),
      nodeVersion: '18.0.0',
      bind: '127.0.0.1',
      ports: [],
      apiUrl: 'http://127.0.0.1:1',
      lake: `file://${dir}/missing`,
      spawner: fakeSpawner(() => ({ stdout: '27.0.0' })),
      minFreeBytes: Number.MAX_SAFE_INTEGER,
    })
    const by = Object.fromEntries(result.checks.map((c) => [c.name, c]))
    expect(by.node.ok).toBe(false)
    expect(by['data dir'].ok).toBe(false)
    expect(by.lake).toMatchObject({ ok: false, detail: expect.stringContaining('ENOENT') })
    expect(by['disk space'].ok).toBe(false)
    expect(by.docker.detail).toContain('27.0.0')
  })

  it('an API nobody started is "not running", not a failure, unless asked about', async () => {
    const base = {
      dataDir: path.join(dir, 'data'),
      nodeVersion: '20.19.0',
      bind: '127.0.0.1',
      ports: [],
      apiUrl: `http://127.0.0.1:${await freePort()}`,
      lake: `file://${dir}`,
      spawner: fakeSpawner(() => ({ stdout: '27.0.0' })),
    }
    const quiet = await runDoctor(base)
    const api = quiet.checks.find((c) => c.name === 'api')!
    expect(api).toMatchObject({ ok: true, level: 'info', detail: expect.stringContaining('not running') })
    const asked = await runDoctor({ ...base, apiRequired: true })
    expect(asked.checks.find((c) => c.name === 'api')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('game api'),
    })
  })

  it('our own API answering 503 holds its port (not "another program"), and the api row names Kafka', async () => {
    const api = http.createServer((_req, res) => {
      res.statusCode = 503
      res.end(JSON.stringify({ ok: false, api: 'up', broker: 'unreachable' }))
    })
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r))
    const apiPort = (api.address() as AddressInfo).port
    try {
      const result = await runDoctor({
        dataDir: path.join(dir, 'data'),
        nodeVersion: '20.19.0',
        bind: '127.0.0.1',
        ports: [{ name: 'api', port: apiPort, flag: '--api-url' }],
        apiUrl: `http://127.0.0.1:${apiPort}`,
        lake: `file://${dir}`,
        spawner: fakeSpawner(() => ({ stdout: '27.0.0' })),
      })
      const by = Object.fromEntries(result.checks.map((c) => [c.name, c]))
      expect(by[`port ${apiPort}`]).toMatchObject({ ok: true, detail: expect.stringContaining('game API') })
      expect(by.api).toMatchObject({ ok: false, detail: expect.stringContaining('Kafka unreachable') })
      expect(by.api.fix).toContain('game up')
    } finally {
      await new Promise((r) => api.close(r))
    }
  })

  it("checks the broker's storage: a full disk fails 'kafka storage' with the fix; after space returns it passes", async () => {
    const dataDir = path.join(dir, 'data')
    const disk = new DiskBudget()
    const broker = await startBroker({
      port: 0,
      dataDir: path.join(dataDir, 'kafka'),
      storageFaults: disk,
      storageRetryMs: 0,
    })
    const address = `127.0.0.1:${broker.port}`
    // A stack state file naming this broker, as the daemon writes it (hdfs is not running).
    writeState(
      dataDir,
      daemonState(
        dataDir,
        process.pid,
        [
          { name: 'kafka', address },
          { name: 'hdfs', address: `127.0.0.1:${await freePort()}` },
        ],
        new Date(),
      ),
    )
    const spawner = { ...fakeSpawner(() => ({ code: 1 })), isAlive: () => true }
    const doctor = () =>
      runDoctor({
        dataDir,
        nodeVersion: '20.19.0',
        bind: '127.0.0.1',
        ports: [],
        apiUrl: 'http://127.0.0.1:1',
        lake: `file://${dir}`,
        spawner,
      }).then((r) => Object.fromEntries(r.checks.map((c) => [c.name, c])))
    const kafka = createKafka({ brokers: [address], clientId: 'doctor', retry: { retries: 0 } })
    const producer = kafka.producer()
    try {
      await producer.connect()
      await producer.send({ topic: 'd', messages: [{ value: 'one' }] })
      const fine = await doctor()
      expect(fine['kafka storage']).toMatchObject({ ok: true, fix: '' })
      expect(fine['kafka storage'].detail).toMatch(/kafka writable, .* free$/)

      disk.fill()
      await expect(producer.send({ topic: 'd', messages: [{ value: 'two' }] })).rejects.toThrow()
      const full = await doctor()
      expect(full['kafka storage'].ok).toBe(false)
      expect(full['kafka storage'].detail).toContain('KAFKA_STORAGE_ERROR')
      expect(full['kafka storage'].fix).toContain(`df -h ${path.join(dataDir, 'kafka')}`)

      disk.free()
      await producer.send({ topic: 'd', messages: [{ value: 'three' }] })
      expect((await doctor())['kafka storage'].ok).toBe(true)
    } finally {
      await producer.disconnect()
      await broker.close()
    }
  }, 60_000)

  it('the table fits the terminal: a long detail is wrapped, not a 200-column line', () => {
    const long = `unknown shorthand flag: 'f' in -f ${'x'.repeat(20)} `.repeat(6)
    const out = renderDoctorTable(
      {
        ok: false,
        checks: [
          { name: 'docker', ok: true, detail: long, fix: '' },
          {
            name: 'stack',
            ok: false,
            detail: 'no stack running',
            fix: 'Run `game up` (or `game up --docker`).',
          },
        ],
      },
      { width: 80 },
    )
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(out.replace(/[\s|]+/g, ' ')).toContain("unknown shorthand flag: 'f' in -f")
  })
})
