import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

let home: string
beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-cli-'))
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('game (base command behaviour)', () => {
  it('prints exactly one JSON document under --json', async () => {
    const r = await runCli(['config', '--json'], { env: { GAME_HOME: home, GAME_TOPIC: 'e2e_topic' } })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.topic).toBe('e2e_topic')
    expect(doc.dataDir).toBe(home)
  })

  it('exits 3 with the key and a hint on bad config', async () => {
    const r = await runCli(['config'], { env: { GAME_HOME: home, GAME_BROKERS: 'not-a-broker' } })
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Invalid brokers')
    expect(r.stderr).toContain('Hint:')
  })

  it('reports config errors as a JSON error document under --json', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-cfg-'))
    try {
      writeFileSync(path.join(dir, 'game.config.json'), '{"partitions": "many"}')
      const r = await runCli(['config', '--json'], { cwd: dir, env: { GAME_HOME: home } })
      expect(r.code).toBe(3)
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 3 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('exits 2 on an unknown flag', async () => {
    const r = await runCli(['config', '--no-such-flag'], { env: { GAME_HOME: home } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Hint:')
  })
})
