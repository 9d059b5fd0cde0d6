import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebHdfsClient, WebHdfsError } from '../../../src/lib/hdfs/client.js'
import { GATEWAY_TMP_DIR, startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'

describe('WebHdfsClient against the embedded gateway', () => {
  let dir: string
  let gw: WebHdfsGateway
  let client: WebHdfsClient

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-webhdfs-client-'))
    gw = await startWebHdfsGateway({ port: 0, root: dir, listBatchSize: 4 })
    client = new WebHdfsClient({ baseUrl: gw.url, user: 'alice', timeoutMs: 10_000 })
  })
  afterAll(async () => {
    await gw?.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('creates from a string, a Buffer, a stream and a local file, and reads them back', async () => {
    await client.create('/c/s.txt', 'text body')
    await client.create('/c/b.bin', Buffer.from([0, 1, 2, 255]))
    await client.create('/c/r.txt', Readable.from(['stream ', 'of ', 'chunks']))
    const local = path.join(dir, '..', `${path.basename(dir)}-local.txt`)
    await fs.writeFile(local, 'from a file')
    try {
      await client.createFromFile('/c/f.txt', local)
    } finally {
      await fs.rm(local, { force: true })
    }
    expect((await client.open('/c/s.txt')).toString()).toBe('text body')
    expect([...(await client.open('/c/b.bin'))]).toEqual([0, 1, 2, 255])
    expect((await client.open('/c/r.txt')).toString()).toBe('stream of chunks')
    expect((await client.open('/c/f.txt')).toString()).toBe('from a file')
    expect(await fs.readFile(path.join(dir, 'c', 's.txt'), 'utf8')).toBe('text body')
  })

  it('CREATE without overwrite on an existing file is FileAlreadyExistsException (403)', async () => {
    await client.create('/dup.txt', 'one')
    const err = await client.create('/dup.txt', 'two').catch((e) => e)
    expect(err).toBeInstanceOf(WebHdfsError)
    expect(err).toMatchObject({
      status: 403,
      exception: 'FileAlreadyExistsException',
      code: 'WEBHDFS_FILEALREADYEXISTSEXCEPTION',
    })
    expect(err.hint).toMatch(/overwrite/)
    await client.create('/dup.txt', 'two', { overwrite: true, permission: '600' })
    expect((await client.open('/dup.txt')).toString()).toBe('two')
    expect((await client.getFileStatus('/dup.txt')).permission).toBe('600')
  })

  it('streams a big upload to disk: a temp file grows while the final name stays invisible', async () => {
    const chunk = Buffer.alloc(1 << 20, 7)
    const total = 24
    let sent = 0
    let sawPartial = false
    const hash = createHash('sha256')
    const body = new Readable({
      async read() {
        if (sent === total / 2 && !sawPartial) {
          // Half sent: the gateway must already be writing a temp file, and nothing exists at the target yet.
          for (;;) {
            const tmp = await fs.readdir(path.join(dir, GATEWAY_TMP_DIR))
            const sizes = await Promise.all(
              tmp.map((n) => fs.stat(path.join(dir, GATEWAY_TMP_DIR, n)).then((s) => s.size)),
            )
            if (sizes.some((s) => s >= (1 << 20) * 4)) break
            await new Promise((r) => setImmediate(r))
          }
          await expect(fs.stat(path.join(dir, 'big', 'file.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
          sawPartial = true
        }
        if (sent === total) {
          this.push(null)
          return
        }
        const c = Buffer.from(chunk)
        c.writeUInt32BE(sent, 0)
        hash.update(c)
        sent++
        this.push(c)
      },
    })
    await client.create('/big/file.bin', body)
    expect(sawPartial).toBe(true)
    const out = path.join(dir, '..', `${path.basename(dir)}-download.bin`)
    try {
      const bytes = await client.openToFile('/big/file.bin', out)
      expect(bytes).toBe(total << 20)
      const back = createHash('sha256')
        .update(await fs.readFile(out))
        .digest('hex')
      expect(back).toBe(hash.digest('hex'))
    } finally {
      await fs.rm(out, { force: true })
    }
    expect(await fs.readdir(path.join(dir, GATEWAY_TMP_DIR))).toEqual([])
  })

  it('reads ranges with offset/length', async () => {
    await client.create('/range.txt', '0123456789')
    expect((await client.open('/range.txt', { offset: 3, length: 4 })).toString()).toBe('3456')
    expect((await client.open('/range.txt', { offset: 7 })).toString()).toBe('789')
    expect((await client.open('/range.txt', { offset: 8, length: 100 })).toString()).toBe('89')
    expect((await client.open('/range.txt', { offset: 10 })).length).toBe(0)
    await expect(client.open('/range.txt', { offset: 11 })).rejects.toMatchObject({ status: 403 })
  })

  it('appends (two steps, POST)', async () => {
    await client.create('/log.ndjson', '{"a":1}\n')
    await client.append('/log.ndjson', '{"a":2}\n')
    await client.append('/log.ndjson', Readable.from(['{"a":3}\n']))
    expect((await client.open('/log.ndjson')).toString()).toBe('{"a":1}\n{"a":2}\n{"a":3}\n')
    await expect(client.append('/nope.ndjson', 'x')).rejects.toMatchObject({
      exception: 'FileNotFoundException',
    })
  })

  it('mkdirs, getFileStatus and listStatus report HDFS FileStatus fields', async () => {
    expect(await client.mkdirs('/ls/sub/deeper', { permission: 0o750 })).toBe(true)
    expect(await client.mkdirs('/ls/sub/deeper')).toBe(true)
    await client.create('/ls/a.txt', 'abc')
    const list = await client.listStatus('/ls')
    expect(list.map((s) => [s.pathSuffix, s.type])).toEqual([
      ['a.txt', 'FILE'],
      ['sub', 'DIRECTORY'],
    ])
    const file = list[0]
    expect(file).toMatchObject({
      length: 3,
      permission: '644',
      replication: 1,
      blockSize: 134217728,
      childrenNum: 0,
    })
    expect(file.owner).toBe('game')
    expect(typeof file.group).toBe('string')
    expect(file.modificationTime).toBeGreaterThan(Date.now() - 60_000)
    expect(typeof file.accessTime).toBe('number')
    expect(file.fileId).toBeGreaterThan(0)
    expect(list[1]).toMatchObject({ length: 0, childrenNum: 1 })
    expect((await client.getFileStatus('/ls/sub/deeper')).permission).toBe('750')
    const self = await client.getFileStatus('/ls/a.txt')
    expect(self.pathSuffix).toBe('')
    expect(await client.listStatus('/ls/a.txt')).toMatchObject([{ pathSuffix: '', type: 'FILE', length: 3 }])
  })

  it('pages through LISTSTATUS_BATCH with startAfter/remainingEntries', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.create(`/batch/f${String(i).padStart(2, '0')}`, 'x')),
    )
    const first = await client.listStatusBatch('/batch')
    expect(first.entries.map((e) => e.pathSuffix)).toEqual(['f00', 'f01', 'f02', 'f03'])
    expect(first.remainingEntries).toBe(6)
    const second = await client.listStatusBatch('/batch', 'f03')
    expect(second.entries[0].pathSuffix).toBe('f04')
    const all = await client.listStatusAll('/batch')
    expect(all.map((e) => e.pathSuffix)).toEqual(
      Array.from({ length: 10 }, (_, i) => `f${String(i).padStart(2, '0')}`),
    )
  })

  it('getContentSummary counts directories, files and bytes', async () => {
    await client.create('/cs/a/1', '12345')
    await client.create('/cs/b/2', '123')
    await client.mkdirs('/cs/empty')
    expect(await client.getContentSummary('/cs')).toMatchObject({
      directoryCount: 4,
      fileCount: 2,
      length: 8,
      quota: -1,
      spaceQuota: -1,
    })
  })

  it('rename: true moves atomically; false (missing source / missing parent / existing file) is an error with a hint', async () => {
    await client.create('/rn/src.txt', 'payload')
    await client.rename('/rn/src.txt', '/rn/dst.txt')
    expect((await client.open('/rn/dst.txt')).toString()).toBe('payload')
    expect(await client.statOrUndefined('/rn/src.txt')).toBeUndefined()

    const missing = await client.rename('/rn/src.txt', '/rn/other.txt').catch((e) => e)
    expect(missing).toMatchObject({ code: 'WEBHDFS_RENAME_FAILED' })
    expect(missing.hint).toMatch(/source is missing/)
    await expect(client.rename('/rn/dst.txt', '/rn/no/such/parent.txt')).rejects.toMatchObject({
      code: 'WEBHDFS_RENAME_FAILED',
    })
    await client.create('/rn/taken.txt', 'taken')
    await expect(client.rename('/rn/dst.txt', '/rn/taken.txt')).rejects.toMatchObject({
      code: 'WEBHDFS_RENAME_FAILED',
    })
    expect((await client.open('/rn/taken.txt')).toString()).toBe('taken')
    // HDFS semantics: into an existing directory.
    await client.mkdirs('/rn/dir')
    await client.rename('/rn/dst.txt', '/rn/dir')
    expect((await client.open('/rn/dir/dst.txt')).toString()).toBe('payload')
  })

  it('delete returns false for missing paths, refuses non-empty directories unless recursive', async () => {
    expect(await client.delete('/del/none')).toBe(false)
    await client.create('/del/d/x', 'x')
    await expect(client.delete('/del/d')).rejects.toMatchObject({
      status: 403,
      exception: 'PathIsNotEmptyDirectoryException',
    })
    expect(await client.delete('/del/d', true)).toBe(true)
    expect(await client.delete('/del/d', true)).toBe(false)
  })

  it('concurrent DELETEs of one path: exactly one true, the others false, never an error', async () => {
    // Two lake writers pruning the same commit record race like this.
    for (let round = 0; round < 10; round++) {
      await client.create(`/race/f${round}`, 'x')
      const results = await Promise.all(Array.from({ length: 16 }, () => client.delete(`/race/f${round}`)))
      expect(results.filter(Boolean)).toHaveLength(1)
    }
  })

  it('missing paths are FileNotFoundException (404) for list, status, open', async () => {
    for (const call of [
      () => client.listStatus('/missing'),
      () => client.getFileStatus('/missing'),
      () => client.open('/missing'),
      () => client.getContentSummary('/missing'),
    ]) {
      const err = await call().catch((e) => e)
      expect(err).toBeInstanceOf(WebHdfsError)
      expect(err).toMatchObject({
        status: 404,
        exception: 'FileNotFoundException',
        javaClassName: 'java.io.FileNotFoundException',
      })
      expect(err.hint).toBeTruthy()
    }
    await expect(client.open('/ls')).rejects.toMatchObject({
      status: 404,
      remoteMessage: expect.stringMatching(/not a file/),
    })
  })

  it('handles concurrent CREATEs: distinct files all land, one name has one winner', async () => {
    const n = 30
    await Promise.all(
      Array.from({ length: n }, (_, i) => client.create(`/conc/f${i}`, `content-${i}`.repeat(1000))),
    )
    const files = await client.listStatusAll('/conc')
    expect(files).toHaveLength(n)
    for (let i = 0; i < n; i += 7)
      expect((await client.open(`/conc/f${i}`)).toString()).toBe(`content-${i}`.repeat(1000))
    const race = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => client.create('/conc/one', `w${i}`)),
    )
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of race) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ exception: 'FileAlreadyExistsException' })
    }
  })

  it("refuses '..' in paths before sending anything", async () => {
    await expect(client.getFileStatus('/a/../../etc')).rejects.toMatchObject({
      code: 'WEBHDFS_BAD_PATH',
      exitCode: 2,
    })
  })
})
