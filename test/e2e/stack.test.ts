import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '../../src/lib/kafka/client.js'
import { BIN, runCli } from '../helpers/cli.js'
import { holdPort } from '../lib/stack/fake-services.js'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

describe('game up / status / down (embedded stack)', () => {
  let home: string
  let env: Record<string, string>
  let kafkaPort: number
  let hdfsPort: number
  let daemonPid: number | undefined

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-stack-'))
    env = { GAME_HOME: home }
  })
  afterAll(async () => {
    // Never leave a daemon behind, whatever failed above.
    if (daemonPid && isAlive(daemonPid)) process.kill(daemonPid, 'SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })

  it('up starts the daemon, waits for both services, creates the topic and prints the table', async () => {
    // Port 0: the daemon picks free ports and records them (no race for a port found free earlier).
    const r = await runCli(['up', '--kafka-port', '0', '--hdfs-port', '0', '--json'], { env })
    expect(r.stderr).toContain('is answering')
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({
      mode: 'embedded',
      dataDir: home,
      topicCreated: true,
      services: [
        { name: 'kafka', address: expect.stringMatching(/^127\.0\.0\.1:[1-9]\d*$/), state: 'running' },
        { name: 'hdfs', address: expect.stringMatching(/^127\.0\.0\.1:[1-9]\d*$/), state: 'running' },
      ],
    })
    kafkaPort = Number(doc.services[0].address.split(':')[1])
    hdfsPort = Number(doc.services[1].address.split(':')[1])
    daemonPid = doc.pid
    expect(doc.services[0].pid).toBe(daemonPid)
    expect(isAlive(daemonPid!)).toBe(true)

    const state = JSON.parse(readFileSync(path.join(home, 'stack.json'), 'utf8'))
    expect(state).toMatchObject({
      mode: 'embedded',
      pid: daemonPid,
      addresses: { kafka: `127.0.0.1:${kafkaPort}`, hdfs: `127.0.0.1:${hdfsPort}` },
    })
    expect(readFileSync(path.join(home, 'logs', 'stack.log'), 'utf8')).toContain('ready')
    expect(existsSync(path.join(home, 'kafka'))).toBe(true)
    expect(existsSync(path.join(home, 'hdfs'))).toBe(true)
  })

  it('the daemon outlived `game up`; kafkajs round trip and WebHDFS answer', async () => {
    const kafka = createKafka({ brokers: [`127.0.0.1:${kafkaPort}`] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: 'game_events',
      messages: [
        { key: 'p1', value: '{"event_type":"default"}', partition: 0 },
        { key: 'p2', value: '{"event_type":"join_guild"}', partition: 0 },
        { key: 'p3', value: '{"event_type":"add_money"}', partition: 2 },
      ],
    })
    await producer.disconnect()

    const consumer = kafka.consumer({ groupId: `e2e-stack-${Date.now()}` })
    await consumer.connect()
    await consumer.subscribe({ topic: 'game_events', fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(String(message.key))
            if (seen.length === 3) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    expect(seen.sort()).toEqual(['p1', 'p2', 'p3'])

    const res = await fetch(`http://127.0.0.1:${hdfsPort}/webhdfs/v1/?op=GETFILESTATUS&user.name=game`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { FileStatus: { type: string } }).FileStatus.type).toBe('DIRECTORY')
  })

  it('status --json shows the services and the topic offsets', async () => {
    const r = await runCli(['status', '--json'], { env })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.mode).toBe('embedded')
    expect(doc.services.map((s: { state: string }) => s.state)).toEqual(['running', 'running'])
    const topic = doc.topics.find((t: { name: string }) => t.name === 'game_events')
    expect(topic.partitions).toEqual([
      { partition: 0, earliest: '0', latest: '2' },
      { partition: 1, earliest: '0', latest: '0' },
      { partition: 2, earliest: '0', latest: '1' },
    ])
  })

  it('status prints the service table and the topic table', async () => {
    const r = await runCli(['status'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/kafka\s+\|\s+127\.0\.0\.1:\d+\s+\|\s+running/)
    expect(r.stdout).toMatch(/game_events\s+\|\s+0\s+\|\s+0\s+\|\s+2\s+\|\s+2/)
  })

  it('status with GAME_BROKERS set to this stack\'s own address is that stack, not "external"', async () => {
    const r = await runCli(['status', '--json'], { env: { ...env, GAME_BROKERS: `localhost:${kafkaPort}` } })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.mode).toBe('embedded')
    expect(doc.services[0]).toMatchObject({ name: 'kafka', pid: daemonPid })
    expect(doc.services[0].latencyMs).toBeGreaterThanOrEqual(0)
    // Another cluster's address stays external.
    const other = await runCli(['status', '--json', '--brokers', '127.0.0.1:1'], { env })
    expect(JSON.parse(other.stdout).mode).toBe('external')
  })

  it('status lists a running game api with its health and latency, and forgets it when it stops', async () => {
    const api = spawn(process.execPath, [BIN, 'api', '--port', '0'], {
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        api.stdout.on('data', (d) => {
          out += d
          const m = /http:\/\/[\d.]+:\d+/.exec(out)
          if (m) resolve(m[0])
        })
        api.once('exit', (code) => reject(new Error(`game api exited ${code}`)))
      })
      const r = await runCli(['status', '--json'], { env })
      expect(r.code).toBe(0)
      const row = JSON.parse(r.stdout).services.find((s: { name: string }) => s.name === 'api')
      expect(row).toMatchObject({
        name: 'api',
        address: url.slice('http://'.length),
        state: 'running',
        pid: api.pid,
      })
      expect(row.detail).toBe('HTTP 200')
      expect(row.latencyMs).toBeGreaterThan(0)
    } finally {
      const exited = new Promise((r) => api.once('exit', r))
      api.kill('SIGINT')
      await exited
    }
    const after = await runCli(['status', '--json'], { env })
    expect(JSON.parse(after.stdout).services.map((s: { name: string }) => s.name)).toEqual(['kafka', 'hdfs'])
  })

  it('up again reports the running stack (exit 0, same pid)', async () => {
    const r = await runCli(['up', '--json'], { env })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.alreadyRunning).toBe(true)
    expect(doc.pid).toBe(daemonPid)
    expect(r.stderr).toContain('already running')
  })

  it('logs prints the daemon log, filtered by service', async () => {
    const all = await runCli(['logs'], { env })
    expect(all.code).toBe(0)
    expect(all.stdout).toContain('[daemon]')
    const kafka = await runCli(['logs', 'kafka'], { env })
    expect(kafka.code).toBe(0)
    expect(kafka.stdout).toContain('[kafka]')
    expect(kafka.stdout).not.toContain('[daemon]')
  })

  it('down stops the daemon cleanly and keeps the data', async () => {
    const r = await runCli(['down', '--json'], { env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'embedded', pid: daemonPid, purged: false })
    expect(isAlive(daemonPid!)).toBe(false)
    expect(existsSync(path.join(home, 'stack.json'))).toBe(false)
    expect(existsSync(path.join(home, 'kafka'))).toBe(true)
    expect(readFileSync(path.join(home, 'logs', 'stack.log'), 'utf8')).toContain('stopped cleanly')
    expect(await canConnect(kafkaPort)).toBe(false)
  })

  it('status exits 4 with the hint to run game up', async () => {
    const r = await runCli(['status'], { env })
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('not running')
    expect(r.stderr).toContain('game up')
  })

  it('down when nothing runs says so, exit 0', async () => {
    const r = await runCli(['down'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('not running')
  })

  it('data survives down/up: the offsets are still there', async () => {
    const up = await runCli(['up', '--kafka-port', '0', '--hdfs-port', '0', '--json'], { env })
    expect(up.code).toBe(0)
    daemonPid = JSON.parse(up.stdout).pid
    expect(JSON.parse(up.stdout).topicCreated).toBe(false)
    const st = await runCli(['status', '--json'], { env })
    const topic = JSON.parse(st.stdout).topics.find((t: { name: string }) => t.name === 'game_events')
    expect(topic.partitions[0].latest).toBe('2')
  })

  it('down --purge refuses without --yes (exit 2), deletes the data dir with it', async () => {
    const refused = await runCli(['down', '--purge'], { env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--yes')
    expect(isAlive(daemonPid!)).toBe(true)
    const r = await runCli(['down', '--purge', '--yes', '--json'], { env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'embedded', purged: true })
    expect(existsSync(home)).toBe(false)
    expect(isAlive(daemonPid!)).toBe(false)
  })
})

describe('game up failures', () => {
  let home: string
  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-stack-fail-'))
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('a taken port: exit 1 naming the port and the flag, and no daemon lingers', async () => {
    const held = await holdPort()
    try {
      // Kafka on port 0 (no race for a "free" port): it starts, then hdfs fails on the held port.
      const r = await runCli(['up', '--kafka-port', '0', '--hdfs-port', String(held.port)], {
        env: { GAME_HOME: home },
      })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain(`Port ${held.port} for hdfs`)
      expect(r.stderr).toContain('Hint:')
      expect(r.stderr).toContain('--hdfs-port')
      expect(existsSync(path.join(home, 'stack.json'))).toBe(false)
      const log = readFileSync(path.join(home, 'logs', 'stack.log'), 'utf8')
      const pid = Number(/daemon (\d+) starting/.exec(log)?.[1])
      expect(pid).toBeGreaterThan(0)
      expect(isAlive(pid)).toBe(false)
      // The broker that had started was closed again.
      const kafkaPort = Number(/kafka listening on 127\.0\.0\.1:(\d+)/.exec(log)?.[1])
      expect(kafkaPort).toBeGreaterThan(0)
      expect(await canConnect(kafkaPort)).toBe(false)
    } finally {
      await held.close()
    }
  })

  it('a stale state file (dead pid) is detected and removed', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    })
    const pid = Number(dead.stdout)
    writeFileSync(
      path.join(home, 'stack.json'),
      JSON.stringify({
        version: 1,
        mode: 'embedded',
        pid,
        startedAt: new Date().toISOString(),
        dataDir: home,
        services: [],
        addresses: { kafka: '127.0.0.1:1', hdfs: '127.0.0.1:2' },
      }),
    )
    const r = await runCli(['status', '--json'], { env: { GAME_HOME: home } })
    expect(r.code).toBe(4)
    expect(JSON.parse(r.stdout).error.code).toBe('STACK_NOT_RUNNING')
    expect(r.stderr).toContain('stale')
    expect(JSON.parse(r.stdout).error.message).toContain(`daemon pid ${pid} is not running`)
    expect(existsSync(path.join(home, 'stack.json'))).toBe(false)
  })
})
