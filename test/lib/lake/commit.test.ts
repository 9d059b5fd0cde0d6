import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  listCommittedFiles,
  newCommitId,
  nextSeq,
  type PublishStep,
  publish,
  readCommitRecords,
  recover,
  type StagedFile,
} from '../../../src/lib/lake/commit.js'
import { COMMITS_DIR, dataFilePath, resumeOffsets, STAGING_DIR } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'

let dir: string
let local: string
let lake: Lake

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-commit-'))
  local = path.join(dir, 'local')
  await (await import('node:fs/promises')).mkdir(local)
  lake = openLake(pathToFileURL(path.join(dir, 'lake')).href, { hdfsUser: 'game' })
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function files(commitId: string): Promise<StagedFile[]> {
  const out: StagedFile[] = []
  for (const [i, table] of (['purchases', 'transactions'] as const).entries()) {
    const localPath = path.join(local, `${commitId}-${table}.parquet`)
    await writeFile(localPath, `data of ${table} ${commitId}`)
    out.push({
      table,
      path: dataFilePath(table, '2026-11-28', commitId, i),
      localPath,
      rows: 3 + i,
      bytes: 10,
    })
  }
  return out
}

class Crash extends Error {}

async function publishUntil(
  commitId: string,
  seq: number,
  step: PublishStep,
  offsets: Record<string, string>,
) {
  await expect(
    publish(
      lake,
      { commitId, seq, topic: 't', group: 'g', offsets, files: await files(commitId) },
      {
        onStep: (s) => {
          if (s === step) throw new Crash(s)
        },
      },
    ),
  ).rejects.toBeInstanceOf(Crash)
}

describe('commit ids and seq', () => {
  it('are unique and sortable by time; seq is one past the max', () => {
    const a = newCommitId(1000)
    const b = newCommitId(1000)
    expect(a).not.toBe(b)
    expect(newCommitId(2000) > a).toBe(true)
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(nextSeq([])).toBe(1)
    expect(nextSeq([{ seq: 4 }, { seq: 9 }, { seq: 2 }])).toBe(10)
  })
})

describe('publish', () => {
  it('publishes files and a commit record, leaves no staging', async () => {
    const record = await publish(lake, {
      commitId: 'c1',
      seq: 1,
      topic: 't',
      group: 'g',
      offsets: { '0': '5', '1': '7' },
      files: await files('c1'),
    })
    expect(record.files.map((f) => f.path)).toEqual([
      'purchases/dt=2026-11-28/part-c1-00000.parquet',
      'transactions/dt=2026-11-28/part-c1-00001.parquet',
    ])
    expect((await lake.readFile(record.files[0].path)).toString()).toBe('data of purchases c1')
    expect(await lake.list(STAGING_DIR)).toEqual([])
    const records = await readCommitRecords(lake)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ commitId: 'c1', seq: 1, offsets: { '0': '5', '1': '7' } })
    expect(records[0].files[1]).toEqual({
      table: 'transactions',
      path: 'transactions/dt=2026-11-28/part-c1-00001.parquet',
      rows: 4,
      bytes: 10,
    })
    expect(await listCommittedFiles(lake, 'purchases')).toHaveLength(1)
    expect(await listCommittedFiles(lake)).toHaveLength(2)
  })

  it('orders records by seq and resumes from the max offsets', async () => {
    await publish(lake, { commitId: 'b', seq: 2, topic: 't', group: 'g', offsets: { '0': '9' }, files: [] })
    await publish(lake, {
      commitId: 'a',
      seq: 1,
      topic: 't',
      group: 'g',
      offsets: { '0': '4', '1': '3' },
      files: [],
    })
    const records = await readCommitRecords(lake)
    expect(records.map((r) => r.commitId)).toEqual(['a', 'b'])
    expect([...resumeOffsets(records, 't')]).toEqual([
      [0, 9n],
      [1, 3n],
    ])
  })
})

describe('crash at each step, then recover', () => {
  it('after-staging: nothing visible, recovery rolls back', async () => {
    await publishUntil('c1', 1, 'after-staging', { '0': '5' })
    expect(await listCommittedFiles(lake)).toEqual([])
    expect(await readCommitRecords(lake)).toEqual([])
    expect(await lake.list('purchases')).toEqual([])
    const r = await recover(lake)
    expect(r.rolledBack).toEqual(['c1'])
    expect(r.rolledForward).toEqual([])
    expect(await lake.list(STAGING_DIR)).toEqual([])
    expect(resumeOffsets(r.records, 't').size).toBe(0)
  })

  it('after-commit-record: readers see no partial commit; recovery rolls forward', async () => {
    await publishUntil('c1', 1, 'after-commit-record', { '0': '5' })
    expect(await listCommittedFiles(lake)).toEqual([])
    expect(await lake.list('purchases')).toEqual([])
    const r = await recover(lake)
    expect(r.rolledForward).toEqual(['c1'])
    expect((await listCommittedFiles(lake)).map((f) => f.table)).toEqual(['purchases', 'transactions'])
    expect(await lake.list(STAGING_DIR)).toEqual([])
    expect(resumeOffsets(r.records, 't').get(0)).toBe(5n)
  })

  it('after-commit-record with one file already renamed: recovery finishes the rest', async () => {
    await publishUntil('c1', 1, 'after-commit-record', { '0': '5' })
    const [rec] = await readCommitRecords(lake)
    await lake.rename(`${STAGING_DIR}/c1/${rec.files[0].path}`, rec.files[0].path)
    await recover(lake)
    expect(await listCommittedFiles(lake)).toHaveLength(2)
  })

  it('after-publish: already complete; recovery is a no-op', async () => {
    await publishUntil('c1', 1, 'after-publish', { '0': '5' })
    const r = await recover(lake)
    expect(r.rolledForward).toEqual([])
    expect(r.rolledBack).toEqual([])
    expect(await listCommittedFiles(lake)).toHaveLength(2)
  })

  it('keeps young uncommitted staging (a live writer) when staleMs is set', async () => {
    await publishUntil('c1', 1, 'after-staging', { '0': '5' })
    const young = await recover(lake, { staleMs: 60_000 })
    expect(young.rolledBack).toEqual([])
    expect((await lake.list(STAGING_DIR)).length).toBeGreaterThan(0)
    const old = await recover(lake, { staleMs: 60_000, now: Date.now() + 120_000 })
    expect(old.rolledBack).toEqual(['c1'])
  })

  it('stops on a commit-record-named file that does not parse, naming it (never skips it)', async () => {
    await lake.writeFile(`${COMMITS_DIR}/00000000000000000001-zz.json`, '{"nope":1}')
    await expect(readCommitRecords(lake)).rejects.toMatchObject({
      code: 'LAKE_COMMIT_CORRUPT',
      message: expect.stringContaining('00000000000000000001-zz.json'),
      hint: expect.stringContaining('Do not delete it'),
    })
  })

  it('stops when one byte is appended to the newest commit record (no rows dropped, no offsets re-landed)', async () => {
    await publish(lake, {
      commitId: 'c1',
      seq: 1,
      topic: 't',
      group: 'g',
      offsets: { '0': '10' },
      files: await files('c1'),
    })
    await publish(lake, {
      commitId: 'c2',
      seq: 2,
      topic: 't',
      group: 'g',
      offsets: { '0': '20' },
      files: await files('c2'),
    })
    expect((await readCommitRecords(lake)).map((r) => r.commitId)).toEqual(['c1', 'c2'])
    const newest = (await lake.list(COMMITS_DIR))
      .map((e) => e.path)
      .sort()
      .at(-1)!
    await lake.writeFile(newest, `${(await lake.readFile(newest)).toString('utf8')}x`, { overwrite: true })
    await expect(readCommitRecords(lake)).rejects.toMatchObject({
      code: 'LAKE_COMMIT_CORRUPT',
      message: expect.stringContaining(newest),
    })
    // The stream starts with recover(): it stops too, so the damaged record's offsets are never landed again.
    await expect(recover(lake)).rejects.toMatchObject({ code: 'LAKE_COMMIT_CORRUPT' })
  })
})
