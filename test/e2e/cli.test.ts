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

  it("keeps oclif's whole reason for flag and argument errors, in one line plus the hint", async () => {
    const bad = await runCli(['load', '-c', 'abc'], { env: { GAME_HOME: home } })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Error: Parsing --connections: Expected an integer but received: abc')
    expect(bad.stderr).toContain('Hint:')
    const both = await runCli(['report', 'balances', '--csv', '--chart', '--json'], {
      env: { GAME_HOME: home },
    })
    expect(both.code).toBe(2)
    expect(JSON.parse(both.stdout).error.message).toMatch(
      /--chart=true cannot also be provided when using --csv/,
    )
    const missing = await runCli(['query'], { env: { GAME_HOME: home } })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/Missing 1 required arg: sql/)
  })

  it('a bad value in a GAME_* variable is a config error: exit 3 naming the variable and the fix', async () => {
    const r = await runCli(['load', '--json'], { env: { GAME_HOME: home, GAME_LOAD_CONNECTIONS: '-1' } })
    expect(r.code).toBe(3)
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 3,
      details: { key: 'GAME_LOAD_CONNECTIONS', value: '-1' },
    })
    const up = await runCli(['up'], { env: { GAME_HOME: home, GAME_KAFKA_PORT: '70000' } })
    expect(up.code).toBe(3)
    expect(up.stderr).toContain('Invalid GAME_KAFKA_PORT: "70000"')
    expect(up.stderr).toContain('Hint: Fix or unset GAME_KAFKA_PORT')
    // The same bad value given as a flag stays a usage error.
    const flag = await runCli(['up', '--kafka-port', '70000'], { env: { GAME_HOME: home } })
    expect(flag.code).toBe(2)
  })

  it('help, -h, commands and a typo with "did you mean" (one JSON document under --json)', async () => {
    const help = await runCli(['help', 'report'], { env: { GAME_HOME: home } })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('report balances')
    const short = await runCli(['status', '-h'], { env: { GAME_HOME: home } })
    expect(short.code).toBe(0)
    expect(short.stdout).toContain('USAGE')
    const list = await runCli(['commands', '--json'], { env: { GAME_HOME: home } })
    expect(list.code).toBe(0)
    const ids = JSON.parse(list.stdout).commands.map((c: { id: string }) => c.id)
    expect(ids).toEqual(expect.arrayContaining(['up', 'report balances', 'stream', 'autocomplete']))
    expect(ids).not.toContain('stack daemon')
    const typo = await runCli(['stauts'], { env: { GAME_HOME: home } })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('Did you mean `game status`?')
    const typoJson = await runCli(['stauts', '--json'], { env: { GAME_HOME: home } })
    expect(typoJson.code).toBe(2)
    expect(JSON.parse(typoJson.stdout).error).toMatchObject({ code: 'COMMAND_NOT_FOUND', exitCode: 2 })
  })

  it('usage lines name only flags that exist (no "[--csv | ]" where there is no --chart)', async () => {
    for (const report of ['guilds', 'messages', 'money']) {
      const r = await runCli(['report', report, '--help'], { env: { GAME_HOME: home } })
      expect(r.code).toBe(0)
      expect(r.stdout.replace(/\s+/g, ' ')).not.toMatch(/\| \]/)
      expect(r.stdout).toContain('--csv')
    }
  })

  it('events tail refuses an event type that does not exist, naming the ones that do', async () => {
    const r = await runCli(['events', 'tail', '--type', 'nonsense'], { env: { GAME_HOME: home } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('"nonsense" is not an event type')
    expect(r.stderr).toMatch(/Hint: Use one of: .*purchase_sword/)
  })

  it('a failed result (doctor) is still the output, with the error line and hint, under --json as "error"', async () => {
    const env = { GAME_HOME: home, GAME_KAFKA_PORT: '1', GAME_HDFS_PORT: '2', GAME_LAKE: `file://${home}` }
    const json = await runCli(['doctor', '--json'], { env })
    expect(json.code).toBe(1)
    const doc = JSON.parse(json.stdout)
    expect(doc.checks.find((c: { name: string }) => c.name === 'stack')).toMatchObject({ ok: false })
    expect(doc.error).toMatchObject({ code: 'DOCTOR_CHECKS_FAILED', exitCode: 1 })
    expect(doc.error.message).toContain('stack')
    const text = await runCli(['doctor'], { env })
    expect(text.code).toBe(1)
    expect(text.stdout).toContain('stack')
    expect(text.stderr).toMatch(/Error: \d+ check\(s\) failed: .*stack/)
    expect(text.stderr).toContain('Hint: ')
  })
})
