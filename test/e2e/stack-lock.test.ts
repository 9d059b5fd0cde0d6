import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
