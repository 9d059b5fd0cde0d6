import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../src/lib/broker/index.js'
import { createKafka } from '../../src/lib/kafka/client.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { httpRequest } from '../lib/api/http.js'

let home: string
let broker: { host: string; port: number; close(): Promise<void> }
let brokers: string

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'game-e2e-api-'))
  broker = await startBroker({ port: 0, dataDir: path.join(home, 'kafka') })
  brokers = `${broker.host}:${broker.port}`
  const admin = createKafka({ brokers: [brokers] }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'game_events', numPartitions: 3 }] })
  await admin.disconnect()
})
afterAll(async () => {
  await broker?.close()
  await rm(home, { recursive: true, force: true })
})

interface ApiChild {
  child: ChildProcess
  url: string
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

/** Spawns `game api --port 0` and resolves with the URL it prints on stdout. */
function spawnApi(extra: string[] = []): Promise<ApiChild> {
  const child = spawn(process.execPath, [BIN, 'api', '--port', '0', '--brokers', brokers, ...extra], {
    cwd: ROOT,
    env: { ...process.env, CI: '1', NO_COLOR: '1', GAME_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const found = (resolve: (c: ApiChild) => void, timer: NodeJS.Timeout) => {
    // Human mode prints the URL alone on stdout; --json mode only logs it on stderr.
    const m = /^(http:\/\/\S+)\n/.exec(out) ?? /listening on (http:\/\/\S+)/.exec(err)
    if (m) {
      clearTimeout(timer)
      resolve({ child, url: m[1], stdout: () => out, stderr: () => err, exited })
    }
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`game api did not start: ${err}`)), 30_000)
    child.stdout?.on('data', (d) => {
      out += d
      found(resolve, timer)
    })
    child.stderr?.on('data', (d) => {
      err += d
      found(resolve, timer)
    })
    exited.then((code) => reject(new Error(`game api exited ${code}: ${err}`)))
  })
}

async function tailJson(args: string[]): Promise<Record<string, unknown>[]> {
  const r = await runCli(['events', 'tail', '--brokers', brokers, '--from-beginning', '--json', ...args], {
    env: { GAME_HOME: home },
    timeoutMs: 60_000,
  })
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

describe('game api + game events tail (built CLI)', () => {
  it('serves requests, tail --json prints them as NDJSON, SIGTERM exits 0', async () => {
    const api = await spawnApi(['--log-requests'])
    const host = 'e2e-player'
    const r1 = await httpRequest(api.url, '/purchase_a_sword?sword_type=long', { headers: { Host: host } })
    const r2 = await httpRequest(api.url, '/join_guild?guild_name=owls', { headers: { Host: host } })
    const r3 = await httpRequest(api.url, '/add_money?amount=x', { headers: { Host: host } })
    expect([r1.status, r2.status, r3.status]).toEqual([200, 200, 400])
    expect(r1.body).toBe('Sword Purchased!\n')

    const events = await tailJson(['-n', '2', '--host', host])
    expect(events.map((e) => e.event_type)).toEqual(expect.arrayContaining(['purchase_sword', 'join_guild']))
    expect(events.find((e) => e.event_type === 'purchase_sword')).toMatchObject({
      amount: -10,
      description: 'long',
    })
    const guilds = await tailJson(['-n', '1', '--type', 'join_guild'])
    expect(guilds[0]).toMatchObject({ event_type: 'join_guild', guild_name: 'owls', Host: host })

    api.child.kill('SIGTERM')
    expect(await api.exited).toBe(0)
    expect(api.stdout()).toBe(`${api.url}\n`)
    expect(api.stderr()).toContain('/join_guild')
  })

  it('SIGTERM during load: every 2xx the client saw has its event in Kafka', async () => {
    const api = await spawnApi()
    const acked: string[] = []
    let stop = false
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`
        try {
          const r = await httpRequest(api.url, `/messages?message=${id}`, {
            headers: { Host: 'sigterm-load' },
          })
          if (r.status === 200) acked.push(id)
        } catch {
          if (api.child.exitCode !== null || api.child.signalCode !== null) return
        }
      }
    }
    const workers = Array.from({ length: 16 }, (_, w) => worker(w))
    while (acked.length < 300) await new Promise((r) => setImmediate(r))
    api.child.kill('SIGTERM')
    const code = await api.exited
    stop = true
    await Promise.all(workers)
    expect(code).toBe(0)
    expect(acked.length).toBeGreaterThanOrEqual(300)

    const events = await tailJson(['--host', 'sigterm-load', '-n', String(acked.length)])
    const inKafka = new Set(events.map((e) => e.message_post))
    const missing = acked.filter((id) => !inKafka.has(id))
    expect(missing).toEqual([])
  })

  it('--json prints one summary document when stopped', async () => {
    const api = await spawnApi(['--json'])
    const r = await httpRequest(api.url, '/join_guild?guild_name=json', { headers: { Host: 'json-mode' } })
    expect(r.status).toBe(200)
    await httpRequest(api.url, '/nope')
    api.child.kill('SIGINT')
    expect(await api.exited).toBe(0)
    const doc = JSON.parse(api.stdout())
    expect(doc).toMatchObject({
      url: api.url,
      produced: 1,
      topic: 'game_events',
      rejections: { not_found: 1 },
    })
  })

  it('tail exits 4 with a hint when Kafka is not reachable', async () => {
    const r = await runCli(['events', 'tail', '--brokers', '127.0.0.1:1', '-n', '1'], {
      env: { GAME_HOME: home },
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('Hint:')
  })
})
