import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, runCli } from '../helpers/cli.js'

// `game load` / `game check` through the built bin/run.js (npx tsc -p tsconfig.build.json first).
let home: string
let server: http.Server
let url: string
let hits = 0
/** When set, every request is answered 503 (an API whose Kafka refuses every produce). */
let refuseAll = false

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'game-e2e-load-'))
  server = http.createServer((req, res) => {
    hits++
    req.resume()
    req.on('end', () => {
      if (refuseAll) {
        res.writeHead(503)
        res.end('{"error":"kafka"}')
      } else res.end('ok\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await rm(home, { recursive: true, force: true })
})

const env = () => ({ GAME_HOME: home })

describe('game load', () => {
  it('--json prints one result document and exits 0 when the thresholds hold', async () => {
    const before = hits
    const r = await runCli(
      [
        'load',
        '--url',
        url,
        '--scenario',
        'seed',
        '-c',
        '4',
        '--json',
        '--max-p99',
        '60000',
        '--min-rps',
        '1',
      ],
      { env: env() },
    )
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.scenario).toBe('seed')
    expect(doc.requests).toMatchObject({ sent: 143, accepted: 143, rejected: 0, unanswered: 0 })
    expect(doc.latency).toMatchObject({ kind: 'service-time', unit: 'ms', count: 143 })
    for (const k of ['p50', 'p90', 'p99', 'max']) expect(typeof doc.latency[k]).toBe('number')
    expect(doc.statusCodes).toEqual({ 200: 143 })
    expect(doc.players.map((p: { host: string }) => p.host)).toContain('oski.berkeley.edu')
    expect(doc.eventTypes.map((t: { eventType: string }) => t.eventType)).toContain('cancel_membership')
    expect(doc.thresholds.passed).toBe(true)
    expect(hits - before).toBe(143)
    // nothing but the document on stdout; progress, if any, as plain lines on stderr (no ink)
    expect(r.stderr).not.toMatch(/\x1b\[/)
  })

  it('exits 5 and names the breached threshold (human output)', async () => {
    const r = await runCli(['load', '--url', url, '--scenario', 'shop', '-n', '200', '--max-p99', '0.001'], {
      env: env(),
    })
    expect(r.code).toBe(5)
    expect(r.stdout).toContain('req/s')
    expect(r.stdout).toContain('Closed model: 10 connections')
    expect(r.stdout).toMatch(/Thresholds: ✗ p99 [\d.]+ ms <= 0.001 ms \(--max-p99\)/)
    expect(r.stderr).toMatch(/Error: Load thresholds breached: p99 latency .* above --max-p99 0.001 ms/)
    expect(r.stderr).toContain('Hint:')
    expect(r.stderr).toMatch(
      /^load: done, 200\/200 requests, [\d.]+s, \d+ req\/s, p99 [\d.]+ ms \(whole run\)/m,
    )
  })

  it('no thresholds set: no Thresholds line; --rate: the summary names the open model', async () => {
    const r = await runCli(['load', '--url', url, '--scenario', 'shop', '-n', '50', '--rate', '200'], {
      env: env(),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toContain('Thresholds')
    expect(r.stdout).toContain('Open model: 200 req/s')
    expect(r.stdout).toMatch(/corrected \(from due time\)/)
    // every latency figure printed: p50 <= p90 <= p99 <= p99.9 <= max
    for (const label of ['corrected (from due time)', 'service time']) {
      const line = r.stdout.split('\n').find((l) => l.includes(`| ${label}`))!
      const n = line
        .split('|')
        .slice(2, 7)
        .map((x) => Number(x.trim()))
      expect(n).toEqual([...n].sort((a, b) => a - b))
    }
  })

  it('a run in which no request was accepted exits 5 with a hint, even without thresholds', async () => {
    refuseAll = true
    try {
      const r = await runCli(['load', '--url', url, '--scenario', 'seed'], { env: env() })
      expect(r.code).toBe(5)
      expect(r.stdout).toContain('Status codes: 503: 143')
      expect(r.stderr).toContain('Error: No request was accepted: 0 of 143 got a 2xx')
      expect(r.stderr).toMatch(/Hint: The API answered 503 to every request.*game status/)
      const j = await runCli(['load', '--url', url, '--scenario', 'seed', '--json'], { env: env() })
      expect(j.code).toBe(5)
      expect(JSON.parse(j.stdout).requests.accepted).toBe(0)
    } finally {
      refuseAll = false
    }
  })

  it('Ctrl-C prints the partial summary, writes the ledger, exits 130', async () => {
    const ledger = path.join(home, 'interrupted.json')
    const child = spawn(
      process.execPath,
      [BIN, 'load', '--url', url, '--scenario', 'mixed', '-d', '60s', '--rate', '100', '--ledger', ledger],
      { env: { ...process.env, CI: '1', NO_COLOR: '1', GAME_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    const progressed = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d
        if (/^load: /m.test(stderr)) resolve()
      }),
    )
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await progressed
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stdout).toContain('(interrupted: partial results)')
    expect(stdout).toContain('Open model: 100 req/s')
    expect(stderr).toContain('Error: Load run interrupted')
    const written = JSON.parse(await readFile(ledger, 'utf8'))
    expect(written.entries.reduce((a: number, e: { sent: number }) => a + e.sent, 0)).toBeGreaterThan(50)
  })

  it('--help: the seed scenario has 6 players, as its ledger shows; both models are described', async () => {
    const r = await runCli(['load', '--help'], { env: env() })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('143 requests from 6 players')
    expect(r.stdout).toMatch(/closed model/i)
    expect(r.stdout).toMatch(/open model/i)
    expect(r.stdout).toContain('--max-connections')
    expect(r.stdout).toContain('--report')
  })

  it('exits 5 under --json too, with the breaches in the document', async () => {
    const r = await runCli(
      ['load', '--url', url, '--scenario', 'shop', '-n', '100', '--min-rps', '1e9', '--json'],
      {
        env: env(),
      },
    )
    expect(r.code).toBe(5)
    const doc = JSON.parse(r.stdout)
    expect(doc.thresholds.passed).toBe(false)
    expect(doc.thresholds.breaches[0].threshold).toBe('min-rps')
  })

  it('an unreachable --url exits 4 with a hint, before sending', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const r = await runCli(['load', '--url', `http://127.0.0.1:${port}`, '--scenario', 'seed'], {
      env: env(),
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`The game API at http://127.0.0.1:${port} is not reachable`)
    expect(r.stderr).toMatch(/Hint: .*game api.*--url/)
    const j = await runCli(['load', '--url', `http://127.0.0.1:${port}`, '--json'], { env: env() })
    expect(j.code).toBe(4)
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'UNREACHABLE', exitCode: 4 })
  })

  it('a bad scenario file exits 3 naming the line and field', async () => {
    const file = path.join(home, 'bad.yaml')
    await writeFile(file, 'steps:\n  - method: GET\n    path: /add_money\n    weight: lots\n')
    const r = await runCli(['load', '--url', url, '--scenario', file], { env: env() })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`${file}:4: steps[0].weight: expected a number > 0`)
    expect(r.stderr).toContain('Hint:')
  })

  it('writes a ledger that game check reads (empty lake: every accepted event is missing, exit 5)', async () => {
    const ledger = path.join(home, 'ledger.json')
    const lakeDir = path.join(home, 'empty-lake')
    const r = await runCli(['load', '--url', url, '--scenario', 'seed', '--ledger', ledger, '--json'], {
      env: env(),
    })
    expect(r.code).toBe(0)
    const written = JSON.parse(await readFile(ledger, 'utf8'))
    expect(written.entries.length).toBe(9) // 6 players x their types
    expect(new Set(written.entries.map((e: { host: string }) => e.host)).size).toBe(6)
    expect(written.runId).toMatch(/^[0-9a-f]{8}$/)
    const c = await runCli(['check', '--ledger', ledger, '--lake', `file://${lakeDir}`, '--json'], {
      env: env(),
    })
    expect(c.code).toBe(5)
    const doc = JSON.parse(c.stdout)
    expect(doc.ok).toBe(false)
    expect(doc.problems).toBe(9)
    expect(doc.rows.every((row: { status: string }) => row.status === 'missing')).toBe(true)
    const human = await runCli(['check', '--ledger', ledger, '--lake', `file://${lakeDir}`], { env: env() })
    expect(human.code).toBe(5)
    expect(human.stderr).toMatch(/Hint: Accepted events are not in the lake yet: run `game stream --once`/)
  })

  it('game check with an unreadable ledger is a usage error', async () => {
    const r = await runCli(
      ['check', '--ledger', path.join(home, 'nope.json'), '--lake', `file://${home}/lake`],
      {
        env: env(),
      },
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Hint: .*game load --ledger/)
  })
})
