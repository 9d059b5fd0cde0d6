import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'

/**
 * NO_COLOR in a real terminal: `game load` draws its live view (ink) in a pty made by `script`;
 * with NO_COLOR set it must write no colour codes, and without it it does (so the test can fail).
 */

const SCRIPT = ['/usr/bin/script', '/bin/script'].find(existsSync)
const COLOR_SGR = /\x1b\[(?:3\d|9\d|1|2)m/g

let server: http.Server
let url: string
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-nocolor-'))
  server = http.createServer((_req, res) => res.end('ok'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

function inPty(extraEnv: Record<string, string>, out: string): Promise<string> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    TERM: 'xterm',
    GAME_HOME: dir,
    ...extraEnv,
  }
  delete env.CI
  if (!('NO_COLOR' in extraEnv)) delete env.NO_COLOR
  delete env.FORCE_COLOR
  const command = `"${process.execPath}" "${BIN}" load --url ${url} -d 2 --scenario shop`
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT!, ['-qec', command, out], { env, stdio: 'ignore' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      resolve(readFileSync(out, 'utf8'))
    })
  })
}

describe.skipIf(!SCRIPT)('NO_COLOR in a pty', () => {
  it('the live load view writes no colour codes with NO_COLOR, and does without it', async () => {
    const plain = await inPty({ NO_COLOR: '1' }, path.join(dir, 'nocolor.out'))
    expect(plain).toContain('Scenario shop')
    expect(plain.match(COLOR_SGR) ?? []).toEqual([])
    const colored = await inPty({}, path.join(dir, 'color.out'))
    expect((colored.match(COLOR_SGR) ?? []).length).toBeGreaterThan(10)
  })
})
