import { appendFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../src/lib/hdfs/gateway.js'
import { openLake } from '../../src/lib/lake/open.js'
import { runCli } from '../helpers/cli.js'
import { commitEvents, fileLake, seedEvents, tempDir } from '../helpers/lake-fixture.js'

let dir: string
let env: Record<string, string>

beforeAll(async () => {
  dir = await tempDir('game-e2e-report-')
  const lakeDir = path.join(dir, 'lake')
  await commitEvents(fileLake(lakeDir), seedEvents())
  env = { GAME_HOME: path.join(dir, 'home'), GAME_LAKE: pathToFileURL(lakeDir).href }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('game report (built CLI)', () => {
  it('balances --json prints {report, rows} with the seed numbers', async () => {
    const r = await runCli(['report', 'balances', '--json'], { env })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.report).toBe('balances')
    expect(doc.rows).toContainEqual({
      host: 'oski.berkeley.edu',
      added: 10000,
      spent: 170,
      balance: 9830,
      transactions: 117,
    })
  })

  it('money --csv prints the seed query as CSV', async () => {
    const r = await runCli(['report', 'money', '--csv'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      'host,sum,avg,count\nlocalhost,150,7.5,20\noski.berkeley.edu,10000,100,100\ntree.stanfurd.edu,1,1,1\n',
    )
  })

  it('purchases --host narrows; the table is plain ASCII under NO_COLOR/CI', async () => {
    const r = await runCli(['report', 'purchases', '--host', 'oski.berkeley.edu', '--chart'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/\| purchase_knife \|\s+\|\s+15 \|\s+150 \|\s+1 \|/)
    expect(r.stdout).toContain('purchase_sword (Great Sword)')
    expect(r.stdout).not.toMatch(/\u001b\[/)
  })

  it('a hostile --host returns no rows and leaves the lake intact', async () => {
    const r = await runCli(['report', 'money', '--json', '--host', "x'; DROP VIEW add_money; --"], { env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ report: 'money', rows: [] })
  })

  it('a bad --since exits 2 with a hint', async () => {
    const r = await runCli(['report', 'guilds', '--since', 'last tuesday'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Invalid --since')
    expect(r.stderr).toContain('Hint:')
  })

  it('an empty lake: exit 0, no rows, a notice naming game stream', async () => {
    const empty = { ...env, GAME_LAKE: pathToFileURL(path.join(dir, 'empty-lake')).href }
    const r = await runCli(['report', 'overview'], { env: empty })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('game stream')
    const j = await runCli(['report', 'balances', '--json'], { env: empty })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout)).toEqual({ report: 'balances', rows: [] })
  })
})

describe('game query (built CLI)', () => {
  it('runs the notebook query; --format json gives {columns, rows}', async () => {
    const r = await runCli(
      ['query', 'select Host, sum(amount) from transactions group by Host order by Host', '--format', 'json'],
      { env },
    )
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.columns).toEqual([
      { name: 'Host', type: 'VARCHAR' },
      { name: 'sum(amount)', type: 'HUGEINT' },
    ])
    expect(doc.rows.map((x: Record<string, unknown>) => x['sum(amount)'])).toEqual([150, 9830, 1])
  })

  it('--format csv', async () => {
    const r = await runCli(
      ['query', 'select guild_name from guild_membership order by 1', '--format', 'csv'],
      {
        env,
      },
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('guild_name\nberkeley\nstanford\n')
  })

  it('refuses writes with exit 2', async () => {
    const r = await runCli(['query', "COPY purchases TO '/tmp/game-should-not-exist.csv'"], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Refused')
  })

  it('refuses reading other files; a SQL error exits 1 listing tables and columns', async () => {
    const r = await runCli(['query', "select * from read_csv('/etc/passwd')", '--json'], { env })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error.code).toBe('QUERY_FAILED')
    const bad = await runCli(['query', 'select nope from purchases'], { env })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('nope')
    expect(bad.stderr).toContain(
      'purchases(raw_event, timestamp, Accept, Host, User-Agent, event_type, amount',
    )
  })
})

describe('game report over hdfs:// (real gateway)', () => {
  let gateway: WebHdfsGateway
  let hdfsEnv: Record<string, string>
  beforeAll(async () => {
    gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
    const url = `hdfs://127.0.0.1:${gateway.port}/tmp`
    await commitEvents(openLake(url, { hdfsUser: 'game' }), seedEvents())
    hdfsEnv = { GAME_HOME: path.join(dir, 'home-hdfs'), GAME_LAKE: url }
  })
  afterAll(async () => {
    await gateway?.close()
  })

  it('fetches into the cache once, then reports from it', async () => {
    const first = await runCli(['report', 'balances', '--json'], { env: hdfsEnv })
    expect(first.code).toBe(0)
    expect(first.stderr).toMatch(/Fetched \d+\/\d+ new lake files/)
    const second = await runCli(['report', 'balances', '--json'], { env: hdfsEnv })
    expect(second.code).toBe(0)
    expect(second.stderr).not.toContain('Fetched')
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout))
  })
})

describe('game report with damaged lake files (built CLI)', () => {
  it('skips an unreadable Parquet file with a warning (stderr and --json), and stops on a damaged commit record', async () => {
    const d = await tempDir('game-e2e-report-damaged-')
    try {
      const lakeDir = path.join(d, 'lake')
      await commitEvents(fileLake(lakeDir), seedEvents())
      const e = { GAME_HOME: path.join(d, 'home'), GAME_LAKE: pathToFileURL(lakeDir).href }
      const dayDir = path.join(
        lakeDir,
        'add_money',
        (await readdir(path.join(lakeDir, 'add_money'))).sort()[0],
      )
      const bad = path.join(dayDir, (await readdir(dayDir))[0])
      await writeFile(bad, 'not parquet')

      const json = await runCli(['report', 'balances', '--json'], { env: e })
      expect(json.code, json.stderr).toBe(0)
      const doc = JSON.parse(json.stdout)
      expect(doc.rows.length).toBeGreaterThan(0)
      expect(doc.warnings).toHaveLength(1)
      expect(doc.warnings[0]).toContain(bad)
      const text = await runCli(['report', 'balances'], { env: e })
      expect(text.code).toBe(0)
      expect(text.stderr).toContain(`Warning: Skipped unreadable Parquet file ${bad}`)

      const commits = path.join(lakeDir, '_game', 'commits')
      const newest = (await readdir(commits)).sort().at(-1)!
      await appendFile(path.join(commits, newest), 'x')
      const stopped = await runCli(['report', 'balances', '--json'], { env: e })
      expect(stopped.code).toBe(1)
      const error = JSON.parse(stopped.stdout).error
      expect(error.code).toBe('LAKE_COMMIT_CORRUPT')
      expect(error.message).toContain(newest)
    } finally {
      await rm(d, { recursive: true, force: true })
    }
  })
})
