import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { freePort } from '../lib/stack/fake-services.js'

/**
 * The README's walkthrough, run as written: each line of its shell block in bash, with `game` on
 * PATH as `npm link` puts it there (here a shim to bin/run.js, since a test must not touch the
 * global npm prefix). Only the ports differ (free ones instead of 9092/9870/5000), so that the test
 * can run beside others.
 */

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

function walkthroughLines(): string[] {
  const section = readme.slice(readme.indexOf('## Walkthrough'))
  const block = section.slice(
    section.indexOf('```sh') + 5,
    section.indexOf('```', section.indexOf('```sh') + 5),
  )
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

function bash(line: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'pipe' })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await fetch(url)
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

let home: string
let shimDir: string
let env: Record<string, string>
let apiPort: number

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-walk-'))
  shimDir = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-bin-'))
  writeFileSync(path.join(shimDir, 'game'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(path.join(shimDir, 'game'), 0o755)
  apiPort = await freePort()
  env = {
    PATH: `${shimDir}:${process.env.PATH}`,
    CI: '1',
    NO_COLOR: '1',
    GAME_HOME: home,
    GAME_KAFKA_PORT: String(await freePort()),
    GAME_HDFS_PORT: String(await freePort()),
    GAME_API_PORT: String(apiPort),
    GAME_API_URL: `http://127.0.0.1:${apiPort}`,
  }
})

afterAll(async () => {
  await runCli(['down'], { env })
  rmSync(home, { recursive: true, force: true })
  rmSync(shimDir, { recursive: true, force: true })
})

describe('README walkthrough', () => {
  it('runs line by line as written (with `game` on PATH)', async () => {
    const lines = walkthroughLines()
    expect(lines[0]).toBe('npm link')
    expect(lines).toContain('game up')
    const outputs: string[] = []
    let api: ReturnType<typeof spawn> | undefined
    try {
      for (const raw of lines.slice(1)) {
        const line = raw.replaceAll('localhost:5000', `localhost:${apiPort}`)
        if (line.endsWith('&')) {
          // `game api &`: started in the background, as a shell would; wait until it answers.
          api = spawn('bash', ['-c', `exec ${line.slice(0, -1)}`], {
            cwd: ROOT,
            env: { ...process.env, ...env },
          })
          await waitForHttp(`http://127.0.0.1:${apiPort}/`, 30_000)
          continue
        }
        const r = await bash(line, env)
        expect(r.code, `${line}\n${r.out}`).toBe(0)
        outputs.push(r.out)
      }
    } finally {
      api?.kill('SIGINT')
    }
    const all = outputs.join('\n')
    expect(all).toContain('Money Added!')
    expect(all).toContain('oski.berkeley.edu')
  })
})
