import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { parseLedger } from '../../../src/lib/load/ledger.js'
import { collectPlan, expandScenario } from '../../../src/lib/load/plan.js'
import { type LoadProgress, RequestEncoder, resolvePlayers, runLoad } from '../../../src/lib/load/runner.js'
import { BUILTIN_SCENARIOS } from '../../../src/lib/load/scenario.js'

interface Seen {
  agent: string
  host: string
  method: string
  url: string
  body: string
}

let server: http.Server
let url: string
let seen: Seen[] = []
/** Paths answered 400; paths never answered. */
let reject = new Set<string>()
let hang = new Set<string>()
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-load-'))
  server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const p = (req.url ?? '').split('?')[0]
      seen.push({
        agent: req.headers['user-agent'] ?? '',
        host: req.headers.host ?? '',
        method: req.method ?? '',
        url: req.url ?? '',
        body,
      })
      if (hang.has(p)) return
      if (reject.has(p)) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end('{"error":"bad"}')
        return
      }
      res.end('ok\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

beforeEach(() => {
  seen = []
  reject = new Set()
  hang = new Set()
})

describe('runLoad', () => {
  it('seed: the server receives exactly the notebook requests, with each Host, cancel after join', async () => {
    const ledgerFile = path.join(dir, 'seed.json')
    const progress: LoadProgress[] = []
    const r = await runLoad(
      { url, scenario: 'seed', connections: 8, seed: 's', ledgerFile },
      { onProgress: (p) => progress.push(p), progressIntervalMs: 50 },
    )
    expect(seen).toHaveLength(143)
    const counts: Record<string, number> = {}
    for (const s of seen)
      counts[`${s.host} ${s.method} ${s.url}`] = (counts[`${s.host} ${s.method} ${s.url}`] ?? 0) + 1
    expect(counts['oski.berkeley.edu GET /add_money?amount=100']).toBe(100)
    expect(counts['oski.berkeley.edu GET /purchase_a_knife']).toBe(15)
    expect(counts['localhost GET /add_money?amount=5']).toBe(10)
    expect(counts['localhost:5000 POST /messages']).toBe(1)
    const post = seen.find((s) => s.method === 'POST')!
    expect(JSON.parse(post.body)).toEqual({ message: 'this is a POST message - booyah!' })
    const join = seen.findIndex((s) => s.url.startsWith('/join_guild?guild_name=stanford'))
    const cancel = seen.findIndex((s) => s.url.startsWith('/cancel_membership'))
    expect(join).toBeGreaterThanOrEqual(0)
    expect(cancel).toBe(142)

    expect(r.requests).toMatchObject({ sent: 143, answered: 143, accepted: 143, rejected: 0, unanswered: 0 })
    expect(r.statusCodes).toEqual({ 200: 143 })
    expect(r.errorRatePct).toBe(0)
    expect(r.latency.count).toBe(143)
    expect(r.latency.kind).toBe('service-time')
    expect(r.rps).toBeGreaterThan(0)
    expect(r.players.find((p) => p.host === 'oski.berkeley.edu')).toMatchObject({ sent: 117, accepted: 117 })
    expect(r.eventTypes.find((t) => t.eventType === 'add_money')).toMatchObject({ sent: 121, accepted: 121 })
    expect(r.thresholds).toEqual({ limits: {}, checks: [], breaches: [], passed: true })
    expect(r.model).toBe('closed')
    expect(r.runId).toMatch(/^[0-9a-f]{8}$/)
    expect(r.userAgent).toBe(`game-load/1 (run ${r.runId})`)

    const ledger = parseLedger(await readFile(ledgerFile, 'utf8'))
    expect(ledger.scenario).toBe('seed')
    expect(ledger.runId).toBe(r.runId)
    expect(ledger.userAgent).toBe(r.userAgent)
    expect(new Set(seen.map((s) => s.agent))).toEqual(new Set([r.userAgent]))
    expect(r.players).toHaveLength(6) // the seed's 6 Host values, as its --help says
    expect(ledger.entries.find((e) => e.host === 'localhost' && e.eventType === 'add_money')).toMatchObject({
      sent: 20,
      accepted: 20,
      sentAmount: 150,
      acceptedAmount: 150,
    })
    expect(progress.at(-1)).toMatchObject({
      done: 143,
      total: 143,
      phases: 2,
      errors: 0,
      final: true,
      rps: Math.round(r.rps),
      p99: r.latency.p99,
    })
    expect(BUILTIN_SCENARIOS.seed.description).toContain('143 requests from 6 players')
  })

  it('counts 400s as rejected, per type, and breaches --max-error-rate', async () => {
    reject.add('/purchase_a_sword')
    const r = await runLoad({
      url,
      scenario: 'shop',
      amount: 300,
      connections: 4,
      seed: 7,
      hostCount: 3,
      thresholds: { maxErrorRatePct: 1, maxP99Ms: 60_000 },
    })
    const swords = r.eventTypes.find((t) => t.eventType === 'purchase_sword')!
    expect(swords.sent).toBeGreaterThan(0)
    expect(swords.rejected).toBe(swords.sent)
    expect(swords.accepted).toBe(0)
    expect(r.statusCodes[400]).toBe(swords.sent)
    expect(r.requests.sent).toBe(300)
    expect(r.errorRatePct).toBeCloseTo((swords.sent / 300) * 100, 1)
    expect(r.thresholds.passed).toBe(false)
    expect(r.thresholds.breaches.map((b) => b.threshold)).toEqual(['max-error-rate'])
    expect(new Set(seen.map((s) => s.host))).toEqual(
      new Set(['player-0.example.com', 'player-1.example.com', 'player-2.example.com']),
    )
  })

  it('the same seed sends the same requests', async () => {
    await runLoad({ url, scenario: 'mixed', amount: 100, connections: 1, seed: 'same', hosts: ['a', 'b'] })
    const first = seen.map((s) => `${s.host} ${s.method} ${s.url} ${s.body}`)
    seen = []
    await runLoad({ url, scenario: 'mixed', amount: 100, connections: 1, seed: 'same', hosts: ['a', 'b'] })
    expect(seen.map((s) => `${s.host} ${s.method} ${s.url} ${s.body}`)).toEqual(first)
  })

  it('sends what the plain plan generator makes, in its order, and counts it per player, type and amount', async () => {
    const hosts = ['a.example', 'b.example', 'c.example']
    const ledgerFile = path.join(dir, 'interned.json')
    const r = await runLoad({
      url,
      scenario: 'mixed',
      amount: 400,
      connections: 1,
      seed: 'plain',
      hosts,
      ledgerFile,
    })
    const plan = collectPlan(
      expandScenario(BUILTIN_SCENARIOS.mixed, { players: hosts, amount: 400, seed: 'plain', intern: false }),
    )
    expect(seen.map((s) => `${s.host} ${s.method} ${s.url} ${s.body}`)).toEqual(
      plan.map((p) => `${p.host} ${p.method} ${p.path} ${p.body ?? ''}`),
    )
    for (const host of hosts) {
      expect(r.players.find((p) => p.host === host)).toMatchObject({
        sent: plan.filter((p) => p.host === host).length,
        accepted: plan.filter((p) => p.host === host).length,
      })
    }
    const ledger = parseLedger(await readFile(ledgerFile, 'utf8'))
    for (const e of ledger.entries) {
      const mine = plan.filter((p) => p.host === e.host && p.eventType === e.eventType)
      expect(e.sent).toBe(mine.length)
      expect(e.acceptedAmount).toBe(mine.reduce((a, p) => a + (p.amount ?? 0), 0))
    }
    expect(ledger.entries.some((e) => e.acceptedAmount > 0)).toBe(true)
    expect(r.statusCodes).toEqual({ 200: 400 })
  })

  it('runs for -d seconds and accounts for requests still in flight at the end', async () => {
    const t0 = Date.now()
    const r = await runLoad({ url, scenario: 'messages', durationSec: 0.5, connections: 3, seed: 1 })
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(450)
    expect(took).toBeLessThan(5000)
    expect(r.requests.sent).toBeGreaterThan(10)
    expect(r.requests.sent).toBe(r.requests.answered + r.requests.unanswered)
    expect(r.requests.unanswered).toBeLessThanOrEqual(3)
    // cut off by the end of -d: interrupted, not errors
    expect(r.requests.interrupted).toBe(r.requests.unanswered)
    expect(r.errorRatePct).toBe(0)
    expect(r.thresholds.passed).toBe(true)
    expect(seen.length).toBeGreaterThanOrEqual(r.requests.answered)
  })

  it('--rate runs the open model: on schedule, corrected latency beside service time, a timeline', async () => {
    const t0 = Date.now()
    const progress: LoadProgress[] = []
    const r = await runLoad(
      { url, scenario: 'shop', amount: 60, rate: 100, connections: 3, seed: 2 },
      { onProgress: (p) => progress.push(p), progressIntervalMs: 200 },
    )
    // 60 requests at 100/s: the last is due at 0.59 s
    expect(Date.now() - t0).toBeGreaterThanOrEqual(580)
    expect(r.model).toBe('open')
    expect(r.rate).toBe(100)
    expect(r.requests).toMatchObject({ sent: 60, accepted: 60, interrupted: 0 })
    expect(r.latency.kind).toBe('corrected')
    expect(r.serviceTime.kind).toBe('service-time')
    expect(r.latency.count).toBe(60)
    // from the due time: never less than from the write
    expect(r.latency.max).toBeGreaterThanOrEqual(r.serviceTime.max)
    expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99)
    expect(r.latency.p999).toBeLessThanOrEqual(r.latency.max)
    // answered over the phase's time: about the rate (a busy machine can only stretch the phase)
    expect(r.rps).toBeGreaterThan(50)
    expect(r.rps).toBeLessThan(120)
    expect(r.timeline.reduce((a, p) => a + p.answered, 0)).toBeLessThanOrEqual(60)
    expect(r.timeline.length).toBeGreaterThanOrEqual(2)
    const live = progress.filter((p) => !p.final)
    expect(live.length).toBeGreaterThanOrEqual(2)
    // live rate over the last interval: about the scheduled rate (not diluted by start-up or the tail)
    expect(live[1].rps).toBeGreaterThan(40)
    expect(live[1].rps).toBeLessThan(200)
    expect(r.distribution.at(-1)).toEqual([100, r.latency.max, r.serviceTime.max])
  })

  it('open model: a stalled server makes it open more connections, and the wait counts in the latency', async () => {
    hang.add('/purchase_a_sword')
    const r = await runLoad({
      url,
      scenario: 'shop',
      amount: 100,
      rate: 200,
      connections: 2,
      maxConnections: 5,
      timeoutSec: 1,
      seed: 3,
    })
    // hung requests hold their connection until the timeout; the cap of 5 makes the others queue
    expect(r.open?.peakConnections).toBe(5)
    expect(r.open?.peakQueue).toBeGreaterThan(0)
    const swords = r.eventTypes.find((t) => t.eventType === 'purchase_sword')!
    expect(r.requests.timeouts).toBe(swords.sent)
    expect(r.requests.sent).toBe(100)
    expect(r.requests.late).toBeGreaterThan(0)
    // queued behind a hung connection for up to a second: corrected latency shows it, service time not
    expect(r.latency.p99).toBeGreaterThan(200)
    expect(r.serviceTime.p50).toBeLessThan(r.latency.p50 + 0.001)
    expect(r.latency.max).toBeGreaterThan(r.serviceTime.max)
  })

  it('open model with -d: whatever is in flight at the end is interrupted, not an error', async () => {
    hang.add('/')
    const r = await runLoad({ url, scenario: 'mixed', durationSec: 0.5, rate: 200, seed: 4, timeoutSec: 5 })
    const defaults = r.eventTypes.find((t) => t.eventType === 'default')!
    expect(defaults.sent).toBeGreaterThan(0)
    // the hung ones in flight, plus any request due just before the end that a late timer left unsent
    expect(r.requests.interrupted).toBeGreaterThanOrEqual(defaults.sent)
    expect(r.requests.timeouts).toBe(0)
    expect(r.errorRatePct).toBe(0)
    expect(r.requests.sent + r.requests.interrupted - defaults.sent).toBe(100)
  })

  it('requests without an answer time out and count as unanswered errors', async () => {
    hang.add('/')
    const r = await runLoad({
      url,
      scenario: await writeScenario(
        'hang.yaml',
        'steps:\n  - path: /\n    count: 2\n  - path: /add_money\n    query: {amount: 3}\n    count: 2\n',
      ),
      hosts: ['h.example'],
      connections: 4,
      timeoutSec: 1,
    })
    expect(r.requests).toMatchObject({ sent: 4, accepted: 2, unanswered: 2, timeouts: 2 })
    expect(r.errorRatePct).toBe(50)
  })

  it('--rate over https is a usage error (the open model speaks plain HTTP)', async () => {
    const e = await runLoad({ url: 'https://127.0.0.1:1', scenario: 'seed', rate: 10 }).catch((x) => x)
    expect(e).toBeInstanceOf(GameError)
    expect(e.exitCode).toBe(2)
    expect(e.message).toContain('--rate')
  })

  it('an unreachable URL fails before sending anything: UNREACHABLE, exit 4, hint', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const e = await runLoad({ url: `http://127.0.0.1:${port}`, scenario: 'seed' }).catch((x) => x)
    expect(e).toBeInstanceOf(GameError)
    expect(e.code).toBe('UNREACHABLE')
    expect(e.exitCode).toBe(4)
    expect(e.hint).toContain('game api')
  })

  it('open model against a server that closes every connection, or resets some: all accounted for', async () => {
    let n = 0
    const other = http.createServer((req, res) => {
      req.resume()
      n++
      // every 10th request: the connection is reset without an answer
      if (n % 10 === 0) {
        req.socket.destroy()
        return
      }
      res.setHeader('Connection', 'close')
      res.end(req.url?.startsWith('/messages') ? 'chunk' : 'ok\n')
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const r = await runLoad({
        url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
        scenario: 'messages',
        amount: 100,
        rate: 200,
        connections: 2,
        seed: 5,
      })
      expect(r.requests.sent).toBe(100)
      expect(r.requests.connectionErrors).toBe(10)
      expect(r.requests.accepted).toBe(90)
      expect(r.requests.unanswered).toBe(10)
      expect(r.requests.interrupted).toBe(0)
      expect(r.errorRatePct).toBe(10)
      // one connection per request: each answer closed its own
      expect(r.open?.connectionsOpened).toBeGreaterThanOrEqual(100)
    } finally {
      other.closeAllConnections()
      await new Promise((resolve) => other.close(resolve))
    }
  })

  it('open model with -d: a generator stalled past the end still accounts for every due request', async () => {
    let blocked = false
    const r = await runLoad(
      { url, scenario: 'messages', durationSec: 0.4, rate: 100, seed: 6 },
      {
        progressIntervalMs: 100,
        onProgress: () => {
          if (blocked) return
          blocked = true
          // the event loop stalls past the end of -d: the timers fire late
          const until = Date.now() + 500
          while (Date.now() < until) {}
        },
      },
    )
    expect(r.requests.sent + r.requests.interrupted).toBe(40)
    expect(r.requests.interrupted).toBeGreaterThan(0)
  })

  it("onAbort 'return': the partial result, marked interrupted, and the ledger", async () => {
    const controller = new AbortController()
    const ledgerFile = path.join(dir, 'partial.json')
    const r = await runLoad(
      { url, scenario: 'mixed', durationSec: 30, rate: 100, ledgerFile },
      {
        onProgress: () => controller.abort(),
        progressIntervalMs: 200,
        signal: controller.signal,
        onAbort: 'return',
      },
    )
    expect(r.interrupted).toBe(true)
    expect(r.requests.sent).toBeGreaterThan(5)
    expect(r.requests.sent).toBeLessThan(200)
    const ledger = parseLedger(await readFile(ledgerFile, 'utf8'))
    expect(ledger.entries.reduce((a, e) => a + e.sent, 0)).toBe(r.requests.sent)
  })

  it('stops on abort, writes the ledger, throws the abort reason', async () => {
    const controller = new AbortController()
    const ledgerFile = path.join(dir, 'aborted.json')
    const reason = new GameError('INTERRUPTED', 'Interrupted by SIGINT', { exitCode: 130 })
    const p = runLoad(
      { url, scenario: 'mixed', durationSec: 30, connections: 2, ledgerFile },
      {
        onProgress: () => controller.abort(reason),
        progressIntervalMs: 100,
        signal: controller.signal,
      },
    )
    await expect(p).rejects.toBe(reason)
    const ledger = parseLedger(await readFile(ledgerFile, 'utf8'))
    expect(ledger.entries.reduce((a, e) => a + e.sent, 0)).toBeGreaterThan(0)
  })
})

async function writeScenario(name: string, text: string): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, text)
  return file
}

describe('RequestEncoder', () => {
  it('builds HTTP/1.1 bytes with the Host, base path and JSON body; encode() caches them', () => {
    const enc = new RequestEncoder('/api')
    const post = {
      method: 'POST',
      path: '/messages',
      host: 'h.example',
      eventType: 'x',
      body: '{"message":"hé"}',
    } as const
    const bytes = enc.build(post).toString('utf8')
    expect(bytes).toBe(
      'POST /api/messages HTTP/1.1\r\nHost: h.example\r\nUser-Agent: game-load/1\r\nAccept: */*\r\n' +
        'Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{"message":"hé"}',
    )
    const get = { method: 'GET', path: '/?a=1', host: 'g', eventType: 'y' } as const
    expect(enc.build(get).toString('latin1')).toBe(
      'GET /api/?a=1 HTTP/1.1\r\nHost: g\r\nUser-Agent: game-load/1\r\nAccept: */*\r\n\r\n',
    )
    expect(enc.encode(post)).toBe(enc.encode({ ...post }))
    expect(enc.encode(post).equals(enc.build(post))).toBe(true)
  })
})

describe('resolvePlayers', () => {
  it('merges --host, --hosts and --hosts-file, skipping comments and blanks', async () => {
    const file = path.join(dir, 'hosts.txt')
    await writeFile(file, '# players\nalice.example\n\nbob.example  # friend\n')
    expect(await resolvePlayers({ hosts: ['x'], hostCount: 2, hostsFile: file })).toEqual([
      'x',
      'player-0.example.com',
      'player-1.example.com',
      'alice.example',
      'bob.example',
    ])
    expect(await resolvePlayers({})).toHaveLength(10)
  })

  it('names the line of a bad hosts file', async () => {
    const file = path.join(dir, 'bad-hosts.txt')
    await writeFile(file, 'ok.example\nnot a host\n')
    await expect(resolvePlayers({ hostsFile: file })).rejects.toThrow(/bad-hosts.txt:2/)
    await expect(resolvePlayers({ hosts: ['bjørn.example'] })).rejects.toThrow(/not a host name/)
  })
})
