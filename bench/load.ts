// bench/load.ts — `npx tsx bench/load.ts [--duration 5] [--connections 10] [--rounds 3] [--scenario mixed]`
// How many req/s `game load` (runLoad: a seeded scenario with its own Host per request, interned
// request bytes, per-player/type accounting, our own latency histogram) drives against a bare node:http server,
// compared with the autocannon CLI alone (node_modules/.bin/autocannon, one fixed GET /) against the
// same server with the same connections and duration. The server runs in its own child process so
// neither load generator shares its event loop. Rounds alternate A/B to spread machine noise.
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runLoad } from '../src/lib/load/runner.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const DURATION = Number(arg('duration', '5'))
const CONNECTIONS = Number(arg('connections', '10'))
const ROUNDS = Number(arg('rounds', '3'))
const SCENARIO = arg('scenario', 'mixed')

const SERVER = `
const http = require('node:http')
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok\\n')) })
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'))
process.on('SIGTERM', () => s.close(() => process.exit(0)))
`

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d) => resolve({ child, url: `http://127.0.0.1:${String(d).trim()}` }))
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)))
  })
}

interface Run {
  rps: number
  /** CPU (user + system) the load generator spent per 1000 answered requests, ms: robust to a busy machine. */
  cpuMsPer1k: number
}

const round2 = (n: number) => Math.round(n * 100) / 100

function autocannonCli(url: string): Promise<Run> {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'autocannon')
  // /usr/bin/time reports the CLI's own CPU time on its last stderr line.
  const child = spawn(
    '/usr/bin/time',
    ['-f', 'CPU %U %S', bin, '-c', String(CONNECTIONS), '-d', String(DURATION), '--json', url],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`))
      const r = JSON.parse(out)
      const m = /CPU ([\d.]+) ([\d.]+)/.exec(err)
      const cpuMs = m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN
      // answered requests per second over the run (same definition as runLoad's rps)
      resolve({
        rps: round2(r.requests.total / r.duration),
        cpuMsPer1k: round2((cpuMs / r.requests.total) * 1000),
      })
    })
  })
}

async function gameLoad(url: string): Promise<Run & { p99: number; errors: number }> {
  const cpu0 = process.cpuUsage()
  const r = await runLoad({
    url,
    scenario: SCENARIO,
    durationSec: DURATION,
    connections: CONNECTIONS,
    hostCount: 100,
    seed: 'bench',
  })
  const cpu = process.cpuUsage(cpu0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  return {
    rps: r.rps,
    cpuMsPer1k: round2((cpuMs / r.requests.answered) * 1000),
    p99: r.latency.p99,
    errors: r.requests.rejected + r.requests.timeouts,
  }
}

const { child, url } = await startServer()
const cli: Run[] = []
const ours: Run[] = []
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const a = await autocannonCli(url)
    const b = await gameLoad(url)
    cli.push(a)
    ours.push(b)
    process.stderr.write(
      `round ${round}: autocannon CLI ${a.rps} req/s (${a.cpuMsPer1k} CPU ms/1k req), game load (${SCENARIO}) ${b.rps} req/s (${b.cpuMsPer1k} CPU ms/1k req, p99 ${b.p99} ms, errors ${b.errors}), ratio ${(b.rps / a.rps).toFixed(3)}\n`,
    )
  }
} finally {
  child.kill('SIGTERM')
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
const result = {
  connections: CONNECTIONS,
  durationSec: DURATION,
  rounds: ROUNDS,
  scenario: SCENARIO,
  autocannonCliRps: cli.map((r) => r.rps),
  gameLoadRps: ours.map((r) => r.rps),
  medianRatio: Math.round((median(ours.map((r) => r.rps)) / median(cli.map((r) => r.rps))) * 1000) / 1000,
  autocannonCliCpuMsPer1k: median(cli.map((r) => r.cpuMsPer1k)),
  gameLoadCpuMsPer1k: median(ours.map((r) => r.cpuMsPer1k)),
  target: 0.9,
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
