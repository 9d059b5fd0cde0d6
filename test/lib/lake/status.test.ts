import { rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeCheckpoint } from '../../../src/lib/lake/commit.js'
import type { CommittedFile } from '../../../src/lib/lake/layout.js'
import { lakeStatus, SMALL_FILE_BYTES, summarizeTables } from '../../../src/lib/lake/status.js'
import type { Lake } from '../../../src/lib/lake/types.js'
import { renderLakeStatus } from '../../../src/ui/lake-status.js'
import { runCli } from '../../helpers/cli.js'
import { commitEvents, fileLake, seedEvents, tempDir, writeUncommitted } from '../../helpers/lake-fixture.js'

describe('summarizeTables', () => {
  it('sums files, bytes, rows and small files per table, with the dt range', () => {
    const f = (table: CommittedFile['table'], dt: string, rows: number, bytes: number): CommittedFile => ({
      table,
      path: `${table}/dt=${dt}/part-x-${rows}.parquet`,
      rows,
      bytes,
    })
    const tables = summarizeTables([
      f('purchases', '2019-08-10', 3, 1000),
      f('purchases', '2019-08-08', 2, SMALL_FILE_BYTES + 1),
      f('messages', '2019-08-09', 1, 10),
    ])
    const purchases = tables.find((t) => t.table === 'purchases')!
    expect(purchases).toMatchObject({
      files: 2,
      rows: 5,
      bytes: 1000 + SMALL_FILE_BYTES + 1,
      smallFiles: 1,
      partitions: 2,
      oldestDt: '2019-08-08',
      newestDt: '2019-08-10',
      lastCompaction: null,
    })
    expect(tables.find((t) => t.table === 'add_money')).toMatchObject({ files: 0, oldestDt: null })
  })
})

describe('lakeStatus (file lake)', () => {
  let dir: string
  let lake: Lake
  beforeAll(async () => {
    dir = await tempDir('game-lake-status-')
    lake = fileLake(path.join(dir, 'lake'))
    await commitEvents(lake, seedEvents())
    await writeCheckpoint(lake)
    await commitEvents(lake, [{ type: 'add_money', host: 'late', ts: '2019-08-12T10:00:00.000Z', amount: 5 }])
    // Files without a commit record are not the lake's.
    await writeUncommitted(
      lake,
      [{ type: 'add_money', host: 'ghost', ts: '2019-08-12T11:00:00.000Z', amount: 1 }],
      'add_money/dt=2019-08-12/part-ghost.parquet',
    )
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('counts only committed files, across a checkpoint and the records after it', async () => {
    const s = await lakeStatus(lake)
    expect(s.commits).toBe(2)
    expect(s.checkpoints).toBe(1)
    const money = s.tables.find((t) => t.table === 'add_money')!
    // The seed has 121 add_money events (100 oski, 20 localhost, 1 tree) plus one later.
    expect(money.rows).toBe(122)
    expect(money.newestDt).toBe('2019-08-12')
    expect(s.totals.rows).toBe(s.tables.reduce((a, t) => a + t.rows, 0))
    expect(s.totals.smallFiles).toBe(s.totals.files)
    const text = renderLakeStatus(s)
    expect(text).toMatch(/add_money\s+\|\s+\d+\s+\|\s+\d+\s+\|.*\|\s+122\s+\|/)
  })

  it('game lake status --json prints the same', async () => {
    const r = await runCli(['lake', 'status', '--json', '--lake', `file://${path.join(dir, 'lake')}`], {
      env: { GAME_HOME: path.join(dir, 'home') },
    })
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.tables.find((t: { table: string }) => t.table === 'add_money').rows).toBe(122)
  })
})
