import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLeanProducer } from '../../src/lib/kafka/lean-producer.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { startKafkaProxy } from '../helpers/kafka-proxy.js'

// game against another Kafka: librdkafka's mock cluster (3 brokers, partition leaders spread over
// them, its own version ranges: Metadata 0..2, Produce 0..7, Fetch 0..11, ApiVersions 0..2), started
// by kcat. Real processes only: kcat, and the built CLI for api, load, stream, report and tail.
const hasKcat = spawnSync('kcat', ['-V']).status === 0

let home: string
let mock: ChildProcess | undefined
let api: ChildProcess | undefined
let brokers: string
let apiUrl: string
let mockLog = ''

/** Resolves with the first match of `re` in the process's `stream` output. */
function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms in: ${seen}`)), ms)
    child[stream]?.on('data', (d) => {
      seen += d
      const m = re.exec(seen)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${re}: ${seen}`)))
  })
}

const env = () => ({ GAME_HOME: home, GAME_BROKERS: undefined })

describe.skipIf(!hasKcat)('game against librdkafka’s mock cluster (3 brokers)', () => {
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'game-e2e-mock-cluster-'))
    mock = spawn(
      'kcat',
      ['-X', 'test.mock.num.brokers=3', '-d', 'mock', '-b', '127.0.0.1:1', '-C', '-t', 'holder'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    mock.stderr?.on('data', (d) => {
      if (mockLog.length < 200_000) mockLog += d
    })
    brokers = await waitFor(mock, 'stderr', /bootstrap\.servers=(\S+)/, 15_000)
    expect(brokers.split(',')).toHaveLength(3)
    api = spawn(process.execPath, [BIN, 'api', '--brokers', brokers, '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    apiUrl = await waitFor(api, 'stdout', /(http:\/\/127\.0\.0\.1:\d+)/, 20_000)
  }, 40_000)

  afterAll(async () => {
    api?.kill('SIGTERM')
    mock?.kill('SIGTERM')
    if (home) await rm(home, { recursive: true, force: true })
  })

  it('api + load seed + stream --once + report balances reproduce the seed notebook; tail reads the events', async () => {
    const lake = `file://${path.join(home, 'lake')}`
    const load = await runCli(['load', '--scenario', 'seed', '--url', apiUrl], {
      env: env(),
      timeoutMs: 30_000,
    })
    expect(load.stderr).not.toMatch(/Error/)
    expect(load.code).toBe(0)

    const stream = await runCli(['stream', '--once', '--brokers', brokers, '--lake', lake], {
      env: env(),
      timeoutMs: 40_000,
    })
    expect(stream.stderr).not.toMatch(/Error/)
    expect(stream.code).toBe(0)
    expect(stream.stdout).toMatch(/143 events in [\d.]+s \(\d+\/s\), 0 rejected/)

    const report = await runCli(['report', 'balances', '--json', '--lake', lake], {
      env: env(),
      timeoutMs: 30_000,
    })
    expect(report.code).toBe(0)
    const rows = JSON.parse(report.stdout).rows as { host: string; balance: number }[]
    const balance = (host: string) => rows.find((r) => r.host === host)?.balance
    expect(balance('localhost')).toBe(150)
    expect(balance('oski.berkeley.edu')).toBe(9830)
    expect(balance('tree.stanfurd.edu')).toBe(1)

    const tail = await runCli(['events', 'tail', '--from-beginning', '-n', '5', '--brokers', brokers], {
      env: env(),
      timeoutMs: 30_000,
    })
    expect(tail.code).toBe(0)
    const lines = tail.stdout.trim().split('\n')
    expect(lines).toHaveLength(5)
    for (const line of lines) expect(line).toMatch(/^\S+Z [a-z_]+ \S+ /)

    // The events went to more than one partition leader, and the clients spoke the mock's versions.
    expect(mockLog).toMatch(/Received ProduceRequestV7/)
    expect(mockLog).toMatch(/Received MetadataRequestV2/)
    const producedTo = new Set(
      [...mockLog.matchAll(/Broker (\d): Received ProduceRequest/g)].map((m) => m[1]),
    )
    expect(producedTo.size).toBeGreaterThan(1)
  }, 85_000)

  // librdkafka's mock checks producer ids and sequences only for transactional producers (its
  // rdkafka_mock.c validates records only when the Produce request names a transactional id), so it
  // stores a re-sent idempotent batch twice where Apache Kafka acks it as a duplicate. What can be
  // checked here: the re-sent batches carry the same producer id, epoch and sequences (Kafka's
  // deduplication key), nothing is lost, and each player's events stay in order.
  it('idempotent produce: a batch whose ack was lost is re-sent with the same producer id, epoch and sequences', async () => {
    const proxy = await startKafkaProxy(brokers.split(','))
    const producer = createLeanProducer({
      brokers: proxy.bootstrap,
      retryBackoffMs: 20,
      requestTimeoutMs: 10_000,
    })
    const players = ['alpha.example', 'beta.example', 'gamma.example', 'delta.example', 'eps.example']
    const topic = 'idem'
    try {
      await producer.send(topic, [{ key: 'warm', value: '{"seq":-1}' }])
      proxy.dropProduceResponses = 1
      let seq = 0
      const sends = Array.from({ length: 4 }, () =>
        Array.from({ length: 30 }, () => {
          const i = seq++
          const key = players[i % players.length]
          return { key, value: JSON.stringify({ Host: key, seq: i }) }
        }),
      )
      await Promise.all(sends.map((messages) => producer.send(topic, messages)))
    } finally {
      await producer.disconnect()
      await proxy.close()
    }
    expect(proxy.dropped).toBe(1)
    const lost = proxy.batches.filter((b) => b.ackLost)
    expect(lost.length).toBeGreaterThan(0)
    for (const b of lost) {
      expect(b.producerId).toBeGreaterThanOrEqual(0n)
      const again = proxy.batches.filter(
        (o) =>
          !o.ackLost &&
          o.partition === b.partition &&
          o.producerId === b.producerId &&
          o.epoch === b.epoch &&
          o.baseSequence === b.baseSequence &&
          o.count === b.count,
      )
      expect(again).toHaveLength(1)
    }
    // Per partition, the sequences of first sends follow each other with no gap.
    const next = new Map<number, number>()
    for (const b of proxy.batches) {
      const expected = next.get(b.partition) ?? 0
      if (b.baseSequence === expected) next.set(b.partition, expected + b.count)
      else expect(b.baseSequence).toBeLessThan(expected) // a re-send
    }

    const read = spawnSync(
      'kcat',
      ['-b', brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    )
    expect(read.status).toBe(0)
    const rows = read.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([key]) => key !== 'warm')
    const firsts = new Map<string, number[]>()
    const seen = new Set<number>()
    for (const [key, value] of rows) {
      const s = JSON.parse(value).seq as number
      if (seen.has(s)) continue
      seen.add(s)
      firsts.set(key, [...(firsts.get(key) ?? []), s])
    }
    expect(seen.size).toBe(120)
    for (const player of players) {
      const mine = firsts.get(player) ?? []
      expect(mine).toEqual([...mine].sort((a, b) => a - b))
    }
    expect(mockLog).toMatch(/InitProducerId/)
  }, 40_000)

  it('status --brokers describes the external cluster: its brokers and topics with offsets', async () => {
    const topic = 'status_probe'
    const produce = spawnSync('kcat', ['-b', brokers, '-P', '-t', topic, '-k', 'probe'], {
      input: '{"n":1}\n{"n":2}\n{"n":3}\n',
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(produce.status).toBe(0)
    // A file:// lake has no service to probe: only Kafka is checked.
    const lake = `file://${path.join(home, 'lake')}`
    const json = await runCli(['status', '--brokers', brokers, '--lake', lake, '--json'], {
      env: env(),
      timeoutMs: 30_000,
    })
    expect(json.code).toBe(0)
    const result = JSON.parse(json.stdout) as {
      mode: string
      services: { name: string; address: string; state: string; detail: string }[]
      topics: { name: string; partitions: { partition: number; earliest: string; latest: string }[] }[]
    }
    expect(result.mode).toBe('external')
    expect(result.services).toHaveLength(1)
    expect(result.services[0]).toMatchObject({ name: 'kafka', address: brokers, state: 'running' })
    expect(result.services[0].detail).toMatch(/^3 broker\(s\), cluster \S+/)
    const probe = result.topics.find((t) => t.name === topic)
    expect(probe?.partitions.length).toBeGreaterThan(0)
    const stored = (probe?.partitions ?? []).reduce((n, p) => n + Number(p.latest) - Number(p.earliest), 0)
    expect(stored).toBe(3)

    const text = await runCli(['status', '--brokers', brokers, '--lake', lake], {
      env: env(),
      timeoutMs: 30_000,
    })
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(
      /kafka\s+\|\s+127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\s+\|\s+running\s+\|\s+3 broker\(s\)/,
    )
    expect(text.stdout).toMatch(new RegExp(`${topic}\\s+\\|\\s+\\d+\\s+\\|\\s+0\\s+\\|\\s+3\\s+\\|\\s+3`))
  }, 60_000)
})
