import { rm, stat, unlink, utimes } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import type { CommitRecord } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'
import { openLakeQuery } from '../../../src/lib/report/engine.js'
import { lakeReport } from '../../../src/lib/report/index.js'
import { runReport } from '../../../src/lib/report/reports.js'
import {
  committedFilesByTable,
  isSafeDataPath,
  lakeCacheDir,
  PRUNE_AFTER_MS,
} from '../../../src/lib/report/snapshot.js'
import { commitEvents, seedEvents, tempDir } from '../../helpers/lake-fixture.js'

/** Delegates to a lake and counts getFile calls. */
function countingLake(lake: Lake): Lake & { gets: string[] } {
  const gets: string[] = []
  return {
    gets,
    url: lake.url,
    kind: lake.kind,
    writeFile: (p, d, o) => lake.writeFile(p, d, o),
    putFile: (l, p, o) => lake.putFile(l, p, o),
    readFile: (p) => lake.readFile(p),
    getFile: (p, l) => {
      gets.push(p)
      return lake.getFile(p, l)
    },
    list: (d) => lake.list(d),
    stat: (p) => lake.stat(p),
    mkdirs: (d) => lake.mkdirs(d),
    rename: (a, b) => lake.rename(a, b),
    delete: (p, r) => lake.delete(p, r),
    localPath: (p) => lake.localPath(p),
  }
}

describe('hdfs:// snapshot cache (real WebHDFS gateway)', () => {
  let dir: string
  let gateway: WebHdfsGateway
  let lake: Lake & { gets: string[] }
  let cacheDir: string

  beforeAll(async () => {
    dir = await tempDir()
    gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
    lake = countingLake(openLake(`hdfs://127.0.0.1:${gateway.port}/tmp`, { hdfsUser: 'game' }))
    cacheDir = lakeCacheDir(path.join(dir, 'home'), lake.url)
    await commitEvents(lake, seedEvents())
  })

  afterAll(async () => {
    await gateway?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const balances = async () => {
    const q = await openLakeQuery({ lake, cacheDir })
    try {
      return { rows: (await runReport('balances', { query: q })).rows, snapshot: q.snapshot }
    } finally {
      q.close()
    }
  }

  it('fetches each committed file once into <dataDir>/cache/lake/…, then serves it from the cache', async () => {
    expect(cacheDir.startsWith(path.join(dir, 'home', 'cache', 'lake'))).toBe(true)
    const first = await balances()
    expect(first.rows.find((r) => r.host === 'oski.berkeley.edu')?.balance).toBe(9830)
    const fileCount = lake.gets.length
    expect(fileCount).toBeGreaterThan(0)
    expect(first.snapshot.fetched).toBe(fileCount)
    expect(new Set(lake.gets).size).toBe(fileCount)

    lake.gets.length = 0
    const second = await balances()
    expect(lake.gets).toEqual([])
    expect(second.snapshot.fetched).toBe(0)
    expect(second.snapshot.cached).toBe(fileCount)
    expect(second.rows).toEqual(first.rows)
  })

  it('a new commit is picked up, fetching only its files', async () => {
    lake.gets.length = 0
    const record: CommitRecord = await commitEvents(lake, [
      { type: 'add_money', host: 'newbie', ts: '2019-08-11T10:00:00.000Z', amount: 42 },
    ])
    const after = await balances()
    expect(after.rows.find((r) => r.host === 'newbie')).toEqual({
      host: 'newbie',
      added: 42,
      spent: 0,
      balance: 42,
      transactions: 1,
    })
    expect([...lake.gets].sort()).toEqual(record.files.map((f) => f.path).sort())
  })

  it('a file whose size or modification time changed in the lake is fetched again', async () => {
    const q = await openLakeQuery({ lake, cacheDir })
    q.close()
    const record = await commitEvents(lake, [
      { type: 'mensaje', host: 'poster', ts: '2019-08-12T10:00:00.000Z', message_post: 'first' },
    ])
    await balances()
    // Replace the committed file in place (same path) with other content.
    const replacement = await commitEvents(lake, [
      {
        type: 'mensaje',
        host: 'poster',
        ts: '2019-08-12T10:00:00.000Z',
        message_post: 'second, longer text',
      },
    ])
    const target = record.files[0].path
    await lake.rename(replacement.files[0].path, `${target}.new`)
    await lake.delete(target)
    await lake.rename(`${target}.new`, target)
    lake.gets.length = 0
    const q2 = await openLakeQuery({ lake, cacheDir })
    try {
      expect(lake.gets).toEqual([target])
      const r = await q2.query("SELECT message_post FROM messages WHERE Host = 'poster'")
      expect(r.rows).toEqual([{ message_post: 'second, longer text' }])
    } finally {
      q2.close()
    }
  })

  it('a cached file that went missing locally is fetched again', async () => {
    const q = await openLakeQuery({ lake, cacheDir })
    const victim = q.snapshot.tables.find((t) => t.name === 'purchases')!.files[0]
    q.close()
    await unlink(victim)
    lake.gets.length = 0
    const again = await balances()
    expect(lake.gets).toHaveLength(1)
    expect(again.rows.find((r) => r.host === 'oski.berkeley.edu')?.spent).toBe(170)
  })

  it('prunes cached files the lake no longer commits (a purged lake), once they are old enough', async () => {
    const before = await openLakeQuery({ lake, cacheDir })
    const oldFiles = before.snapshot.tables.flatMap((t) => t.files)
    before.close()
    expect(oldFiles.length).toBeGreaterThan(3)
    // The lake is purged and refilled: new commits, new file paths.
    for (const e of await lake.list('')) await lake.delete(e.path, true)
    await commitEvents(lake, seedEvents())
    // Just cached (a report that started later may have fetched them): kept.
    const fresh = await openLakeQuery({ lake, cacheDir })
    fresh.close()
    expect(fresh.snapshot.pruned).toBe(0)
    for (const f of oldFiles) expect(await stat(f).then(() => true)).toBe(true)
    // Older than PRUNE_AFTER_MS: removed from disk and from the index.
    const past = new Date(Date.now() - PRUNE_AFTER_MS - 60_000)
    for (const f of oldFiles) await utimes(f, past, past)
    const q = await openLakeQuery({ lake, cacheDir })
    try {
      expect(q.snapshot.pruned).toBe(oldFiles.length)
      for (const f of oldFiles) await expect(stat(f)).rejects.toThrow()
      const rows = (await runReport('balances', { query: q })).rows
      expect(rows.find((r) => r.host === 'oski.berkeley.edu')?.balance).toBe(9830)
    } finally {
      q.close()
    }
    const again = await openLakeQuery({ lake, cacheDir })
    again.close()
    expect(again.snapshot.pruned).toBe(0)
    expect(again.snapshot.fetched).toBe(0)
  })

  it('reports download progress against a fixed total (it never grows), ending at done = total', async () => {
    const fresh = lakeCacheDir(path.join(dir, 'home-progress'), lake.url)
    const events: Array<{ done: number; total: number }> = []
    const q = await openLakeQuery({
      lake,
      cacheDir: fresh,
      onProgress: (e) => {
        if (e.phase === 'fetch') events.push({ done: e.done, total: e.total })
      },
    })
    q.close()
    expect(events.length).toBeGreaterThan(4)
    expect(new Set(events.map((e) => e.total)).size).toBe(1)
    expect(events.map((e) => e.done)).toEqual(events.map((_, i) => i + 1))
    expect(events.at(-1)!.done).toBe(events[0].total)
  })

  it('refuses a bad --since before downloading anything', async () => {
    lake.gets.length = 0
    const fresh = lakeCacheDir(path.join(dir, 'home-bad-filter'), lake.url)
    await expect(
      lakeReport('balances', { lake, cacheDir: fresh, filters: { since: '2026-13-45' } }),
    ).rejects.toMatchObject({ exitCode: 2 })
    expect(lake.gets).toEqual([])
  })
})

describe('committedFilesByTable', () => {
  const rec = (seq: number, files: CommitRecord['files']): CommitRecord => ({
    formatVersion: 1,
    commitId: `c${seq}`,
    seq,
    createdAt: '',
    topic: 't',
    group: 'g',
    offsets: {},
    files,
  })

  it('groups by table in commit order, drops duplicates, unknown tables and unsafe paths', () => {
    const out = committedFilesByTable([
      rec(2, [{ table: 'purchases', path: 'purchases/dt=2019-08-09/b.parquet', rows: 2, bytes: 1 }]),
      rec(1, [
        { table: 'purchases', path: 'purchases/dt=2019-08-09/a.parquet', rows: 1, bytes: 1 },
        { table: 'purchases', path: 'purchases/dt=2019-08-09/b.parquet', rows: 2, bytes: 1 },
        { table: 'purchases', path: 'purchases/../../etc/passwd.parquet', rows: 1, bytes: 1 },
        { table: 'purchases', path: 'add_money/dt=2019-08-09/x.parquet', rows: 1, bytes: 1 },
        { table: 'nope' as 'purchases', path: 'nope/x.parquet', rows: 1, bytes: 1 },
      ]),
    ])
    expect(out.get('purchases')!.map((f) => f.path)).toEqual([
      'purchases/dt=2019-08-09/a.parquet',
      'purchases/dt=2019-08-09/b.parquet',
    ])
    expect(out.get('add_money')).toEqual([])
    expect(out.has('nope' as 'purchases')).toBe(false)
  })

  it('isSafeDataPath', () => {
    expect(isSafeDataPath('messages', 'messages/dt=2020-01-01/part-x-00000.parquet')).toBe(true)
    expect(isSafeDataPath('messages', 'messages/dt=2020-01-01/../x.parquet')).toBe(false)
    expect(isSafeDataPath('messages', '_game/staging/messages/x.parquet')).toBe(false)
    expect(isSafeDataPath('messages', 'messages/_tmp/x.parquet')).toBe(false)
    expect(isSafeDataPath('messages', 'messages/dt=2020-01-01/x.json')).toBe(false)
  })

  it('lakeCacheDir differs per lake URL', () => {
    expect(lakeCacheDir('/h', 'hdfs://a:9870/tmp')).not.toBe(lakeCacheDir('/h', 'hdfs://b:9870/tmp'))
    expect(lakeCacheDir('/h', 'hdfs://a:9870/tmp').startsWith('/h/cache/lake/')).toBe(true)
  })
})

describe('reports over checkpointed commit metadata (real WebHDFS gateway)', () => {
  it('give the same rows with and without checkpoints, reading the checkpoint instead of every record', async () => {
    const dir = await tempDir()
    const gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
    try {
      const inner = openLake(`hdfs://127.0.0.1:${gateway.port}/tmp`, { hdfsUser: 'game' })
      let reads = 0
      const lake: Lake = {
        ...countingLake(inner),
        readFile: (p) => {
          reads++
          return inner.readFile(p)
        },
      }
      const events = seedEvents()
      const chunk = Math.ceil(events.length / 6)
      for (let i = 0; i < events.length; i += chunk) await commitEvents(lake, events.slice(i, i + chunk))
      const cacheDir = lakeCacheDir(path.join(dir, 'home'), lake.url)
      const report = async () => {
        const q = await openLakeQuery({ lake, cacheDir })
        try {
          return { rows: (await runReport('balances', { query: q })).rows, snapshot: q.snapshot }
        } finally {
          q.close()
        }
      }
      reads = 0
      const plain = await report()
      expect(plain.snapshot.commits).toBe(6)
      expect(reads).toBe(6)

      const { writeCheckpoint } = await import('../../../src/lib/lake/commit.js')
      await writeCheckpoint(lake)
      reads = 0
      const checkpointed = await report()
      expect(reads).toBe(1)
      expect(checkpointed.rows).toEqual(plain.rows)
      expect(checkpointed.snapshot.commits).toBe(6)
      expect(checkpointed.snapshot.tables).toEqual(plain.snapshot.tables)
      expect(checkpointed.snapshot.missing).toEqual([])
    } finally {
      await gateway.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
