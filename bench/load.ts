// bench/load.ts — `npx tsx bench/load.ts [--duration 5] [--connections 10] [--rounds 3] [--scenario mixed]`
// How many req/s `game load` (runLoad: a seeded scenario, per-request setupRequest with its own Host,
// per-player/type accounting, our own latency histogram) drives against a bare node:http server,
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

function autocannonCli(url: string): Promise<number> {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'autocannon')
  const child = spawn(bin, ['-c', String(CONNECTIONS), '-d', String(DURATION), '--json', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`))
      const r = JSON.parse(out)
      // answered requests per second over the run (same definition as runLoad's rps)
      resolve(Math.round((r.requests.total / r.duration) * 100) / 100)
    })
  })
}

async function gameLoad(url: string): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await runLoad({
    url,
    scenario: SCENARIO,
    durationSec: DURATION,
    connections: CONNECTIONS,
    hostCount: 100,
    seed: 'bench',
  })
  return { rps: r.rps, p99: r.latency.p99, errors: r.requests.rejected + r.requests.timeouts }
}

const { child, url } = await startServer()
const cli: number[] = []
const ours: number[] = []
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const a = await autocannonCli(url)
    const b = await gameLoad(url)
    cli.push(a)
    ours.push(b.rps)
    process.stderr.write(
      `round ${round}: autocannon CLI ${a} req/s, game load (${SCENARIO}) ${b.rps} req/s (p99 ${b.p99} ms, errors ${b.errors}), ratio ${(b.rps / a).toFixed(3)}\n`,
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
  autocannonCliRps: cli,
  gameLoadRps: ours,
  medianRatio: Math.round((median(ours) / median(cli)) * 1000) / 1000,
  target: 0.9,
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
