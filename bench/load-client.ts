// bench/load-client.ts — `npx tsx bench/load-client.ts`
// Why the open model (`game load --rate`) writes raw sockets instead of using node:http: the same
// 40,000 GET requests (10 keep-alive connections, closed loop) against a bare node:http server in
// its own process, once through node:http's client with a keep-alive Agent, once as prebuilt bytes
// on net sockets read by src/lib/load/http1.ts's ResponseParser. Prints req/s and the client's CPU
// per 1000 requests, three rounds alternating.
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { ResponseParser } from '../src/lib/load/http1.js'

const SERVER = `
const http = require('node:http')
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok\\n')) })
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'))
process.on('SIGTERM', () => s.close(() => process.exit(0)))
`
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
const port = Number(await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d).trim()))))
const N = 40_000
const C = 10
async function viaHttp() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: C })
  let left = N
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/add_money?amount=5',
          agent,
          headers: {
            Host: 'player-1.example.com',
            'User-Agent': 'game-load/1 (run 12345678)',
            Accept: '*/*',
          },
        },
        (res) => {
          res.resume()
          res.on('end', resolve)
        },
      )
      req.on('error', reject)
      req.end()
    })
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) await one()
    }),
  )
  agent.destroy()
}
async function viaRaw() {
  const bytes = Buffer.from(
    'GET /add_money?amount=5 HTTP/1.1\r\nHost: player-1.example.com\r\nUser-Agent: game-load/1 (run 12345678)\r\nAccept: */*\r\n\r\n',
  )
  let left = N
  await Promise.all(
    Array.from(
      { length: C },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port })
          s.setNoDelay(true)
          const p = new ResponseParser(() => {
            if (left-- > 0) s.write(bytes)
            else {
              s.destroy()
              resolve()
            }
          })
          s.on('data', (d: Buffer) => p.execute(d))
          s.on('connect', () => {
            left--
            s.write(bytes)
          })
        }),
    ),
  )
}
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of [
    ['node:http keep-alive agent', viaHttp],
    ['raw socket + ResponseParser', viaRaw],
  ] as const) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await fn()
    const c = process.cpuUsage(c0)
    const ms = performance.now() - t0
    console.log(
      name,
      Math.round((N / ms) * 1000),
      'req/s',
      (((c.user + c.system) / 1000 / N) * 1000).toFixed(1),
      'CPU ms/1k',
    )
  }
}
child.kill('SIGTERM')
