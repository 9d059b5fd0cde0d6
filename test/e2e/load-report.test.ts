import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../helpers/cli.js'

// `game load --report FILE` rendered in a real headless browser (Debian's chromium). Skipped only when
// /usr/bin/chromium is missing (.ci/run installs it). The screenshot goes to docs/load-report.png.
const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)

let home: string
let server: http.Server
let url: string

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'game-e2e-load-report-'))
  // answers at once, except for one 300 ms stall 1.5 s in: something to see in the charts
  let first = 0
  let stallUntil = 0
  server = http.createServer((req, res) => {
    req.resume()
    const now = Date.now()
    if (first === 0) first = now
    if (stallUntil === 0 && now - first >= 1500) stallUntil = now + 300
    if (now < stallUntil) setTimeout(() => res.end('ok\n'), stallUntil - now)
    else res.end(req.url?.startsWith('/purchase_a_sword') ? 'ok\n' : 'ok\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await rm(home, { recursive: true, force: true })
})

/** Runs chromium headless with a fresh profile; resolves with its stdout. */
function chromium(
  args: string[],
  profile: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe.skipIf(!haveChromium)('game load --report: the HTML report renders in headless chromium', () => {
  it('draws every chart with its series, offline, under 1 MB; screenshot in docs/', async () => {
    const report = path.join(home, 'load.html')
    const r = await runCli(
      [
        'load',
        '--url',
        url,
        '--scenario',
        'mixed',
        '--hosts',
        '8',
        '--seed',
        '7',
        '--rate',
        '300',
        '-d',
        '6s',
        '--report',
        report,
        '--json',
      ],
      { env: { GAME_HOME: home }, timeoutMs: 60_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    const html = await readFile(report, 'utf8')
    expect((await stat(report)).size).toBeLessThan(1024 * 1024)
    // self-contained: no external script, stylesheet or image
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src="http/i)
    expect(html).toContain(`run ${doc.runId}`)

    const dom = await chromium(
      ['--virtual-time-budget=10000', '--dump-dom', `file://${report}`],
      await mkdtemp(path.join(home, 'profile-')),
    )
    expect(dom.stdout, dom.stderr).toMatch(/data-rendered="3"/)
    const status = JSON.parse(
      /<pre id="render-status">([^<]*)<\/pre>/.exec(dom.stdout)![1].replace(/&quot;/g, '"'),
    )
    expect(status.map((c: { id: string }) => c.id)).toEqual([
      'chart-latency',
      'chart-throughput',
      'chart-distribution',
    ])
    // series: p50, p90, p99, p99.9, max | req/s, errors, late | corrected, service time
    expect(status.map((c: { series: number }) => c.series)).toEqual([5, 3, 2])
    for (const c of status) {
      expect(c.points, c.id).toBeGreaterThanOrEqual(3)
      expect(c.painted, c.id).toBeGreaterThan(1000)
    }
    expect(status[0].points).toBe(doc.timeline.length)
    // the tables are there too
    expect(dom.stdout).toContain('Per player (Host)')
    expect(dom.stdout).toContain('player-7.example.com')
    expect(dom.stdout).toContain('purchase_knife')

    const shot = path.join(ROOT, 'docs', 'load-report.png')
    const s = await chromium(
      [
        '--virtual-time-budget=10000',
        '--hide-scrollbars',
        '--window-size=1200,1750',
        `--screenshot=${shot}`,
        `file://${report}`,
      ],
      await mkdtemp(path.join(home, 'profile-')),
    )
    expect(s.code, s.stderr).toBe(0)
    expect((await stat(shot)).size).toBeGreaterThan(20_000)
  }, 120_000)
})
