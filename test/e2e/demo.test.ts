import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../lib/stack/fake-services.js'

let home: string
let env: Record<string, string>

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'game-e2e-demo-'))
  env = {
    GAME_HOME: home,
    GAME_KAFKA_PORT: String(await freePort()),
    GAME_HDFS_PORT: String(await freePort()),
  }
})

afterAll(async () => {
  await runCli(['down'], { env })
  rmSync(home, { recursive: true, force: true })
})

type Rows = Record<string, unknown>[]

describe('game demo', () => {
  it('runs the whole pipeline and reproduces the seed notebook numbers', async () => {
    const r = await runCli(['demo', '--json'], { env, timeoutMs: 180_000 })
    expect(r.stderr).toContain('[1/5]')
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.load.requests).toMatchObject({ sent: 143, accepted: 143 })
    expect(doc.stream.events).toBe(143)
    expect(doc.stackLeftRunning).toBe(true)
    expect(doc.lakeHadData).toBe(false)

    const byTitle = new Map<string, Rows>(
      doc.reports.map((x: { title: string; result: { rows: Rows } }) => [x.title, x.result.rows]),
    )
    const purchases = byTitle.get('Purchases by type')!
    const count = (rows: Rows, type: string) => rows.find((p) => p.event_type === type)?.count
    expect(count(purchases, 'purchase_knife')).toBe(15)
    expect(count(purchases, 'purchase_sword')).toBe(2)
    expect(count(byTitle.get("oski.berkeley.edu's purchases")!, 'purchase_knife')).toBe(15)

    const money = byTitle.get('Money added per player')!
    expect(money).toContainEqual({ host: 'localhost', sum: 150, avg: 7.5, count: 20 })
    expect(money).toContainEqual({ host: 'oski.berkeley.edu', sum: 10000, avg: 100, count: 100 })
    expect(money).toContainEqual({ host: 'tree.stanfurd.edu', sum: 1, avg: 1, count: 1 })

    const balances = byTitle.get('Balances')!
    expect(balances.find((b) => b.host === 'oski.berkeley.edu')).toMatchObject({
      balance: 9830,
      added: 10000,
      spent: 170,
    })

    const guilds = byTitle.get('Guild joins and cancellations')!
    expect(guilds.find((g) => g.guild_name === 'stanford')).toMatchObject({
      joins: 1,
      cancels: 1,
      members: 0,
    })
    expect(guilds.find((g) => g.guild_name === 'berkeley')).toMatchObject({
      joins: 1,
      cancels: 0,
      members: 1,
    })

    const messages = byTitle.get('Messages')!.map((m) => m.message)
    expect(messages.sort()).toEqual(['this is a GET message', 'this is a POST message - booyah!'])

    // The stack was left running: the reports work on their own afterwards.
    const report = await runCli(['report', 'balances', '--json'], { env })
    expect(report.code).toBe(0)
    expect(JSON.parse(report.stdout).rows.find((b: { host: string }) => b.host === 'localhost').balance).toBe(
      150,
    )
  })
})
