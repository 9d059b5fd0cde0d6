import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../lib/stack/fake-services.js'

let home: string
beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-lock-'))
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('game up while another game up is starting the stack', () => {
  it('refuses with exit 1 and a hint, starting nothing', async () => {
    // This test process plays the other `game up`: its pid is alive.
    writeFileSync(path.join(home, 'stack.lock'), String(process.pid))
    const env = {
      GAME_HOME: home,
      GAME_KAFKA_PORT: String(await freePort()),
      GAME_HDFS_PORT: String(await freePort()),
    }
    const r = await runCli(['up', '--json'], { env })
    expect(r.code).toBe(1)
    const error = JSON.parse(r.stdout).error
    expect(error.code).toBe('STACK_STARTING')
    expect(error.hint).toContain('game status')
    const status = await runCli(['status'], { env })
    expect(status.code).toBe(4)
  })
})

describe('game up after stack.json was deleted while the daemon runs', () => {
  it('does not start a second broker on the same log: BROKER_LOG_LOCKED, exit 1', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-loglock-'))
    const env = {
      GAME_HOME: dir,
      GAME_KAFKA_PORT: String(await freePort()),
      GAME_HDFS_PORT: String(await freePort()),
    }
    try {
      const up = await runCli(['up', '--json'], { env })
      expect(up.code, up.stderr).toBe(0)
      rmSync(path.join(dir, 'stack.json'))
      // Other ports, so that only the log lock can stop the second broker.
      const env2 = {
        ...env,
        GAME_KAFKA_PORT: String(await freePort()),
        GAME_HDFS_PORT: String(await freePort()),
      }
      const again = await runCli(['up', '--json'], { env: env2 })
      expect(again.code).toBe(1)
      const error = JSON.parse(again.stdout).error
      expect(error.code).toBe('BROKER_LOG_LOCKED')
      expect(error.hint).toContain('.lock')
    } finally {
      // stack.json is gone: stop the first daemon by the pid in its lock file.
      try {
        const pid = Number(readFileSync(path.join(dir, 'kafka', '.lock'), 'utf8').trim())
        if (pid > 0 && pid !== process.pid) process.kill(pid, 'SIGTERM')
        for (let i = 0; i < 100; i++) {
          try {
            process.kill(pid, 0)
            await new Promise((r) => setTimeout(r, 100))
          } catch {
            break
          }
        }
      } catch {
        // no lock: nothing runs
      }
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
