import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isLakeAlreadyExists, isLakeNotFound } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'

export interface LakeFixture {
  lake: Lake
  close(): Promise<void>
}

/** The Lake contract, run against every adapter: same calls, same answers. */
export function lakeContract(name: string, setup: () => Promise<LakeFixture>): void {
  describe(`Lake contract: ${name}`, () => {
    let fixture: LakeFixture
    let lake: Lake
    let scratch: string
    let n = 0
    let base: string

    beforeAll(async () => {
      fixture = await setup()
      lake = fixture.lake
      scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'game-lake-scratch-'))
    })
    afterAll(async () => {
      await fixture?.close()
      await fs.rm(scratch, { recursive: true, force: true })
    })
    beforeEach(() => {
      base = `t${++n}`
    })

    it('writes and reads a file, creating parents', async () => {
      await lake.writeFile(`${base}/a/b/c.txt`, 'hello')
      expect((await lake.readFile(`${base}/a/b/c.txt`)).toString()).toBe('hello')
      const st = await lake.stat(`${base}/a/b/c.txt`)
      expect(st).toMatchObject({ name: 'c.txt', path: `${base}/a/b/c.txt`, type: 'file', size: 5 })
      expect(st!.mtime).toBeGreaterThan(Date.now() - 60_000)
      expect(await lake.stat(`${base}/a/b`)).toMatchObject({ type: 'dir', name: 'b' })
    })

    it('refuses to overwrite unless asked', async () => {
      await lake.writeFile(`${base}/x.bin`, Buffer.from([1, 2, 3]))
      const err = await lake.writeFile(`${base}/x.bin`, 'other').catch((e) => e)
      expect(isLakeAlreadyExists(err)).toBe(true)
      expect(err.hint).toBeTruthy()
      expect([...(await lake.readFile(`${base}/x.bin`))]).toEqual([1, 2, 3])
      await lake.writeFile(`${base}/x.bin`, 'other', { overwrite: true })
      expect((await lake.readFile(`${base}/x.bin`)).toString()).toBe('other')
    })

    it('puts and gets local files (binary safe)', async () => {
      const data = Buffer.alloc(300_000)
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff
      const src = path.join(scratch, `${base}-src.bin`)
      const dst = path.join(scratch, `${base}-out`, 'dst.bin')
      await fs.writeFile(src, data)
      await lake.putFile(src, `${base}/p/f.parquet`)
      await lake.getFile(`${base}/p/f.parquet`, dst)
      expect((await fs.readFile(dst)).equals(data)).toBe(true)
      const err = await lake.putFile(src, `${base}/p/f.parquet`).catch((e) => e)
      expect(isLakeAlreadyExists(err)).toBe(true)
      await expect(
        lake.putFile(path.join(scratch, 'no-such-file'), `${base}/p/g.parquet`),
      ).rejects.toMatchObject({
        code: 'LOCAL_FILE_UNREADABLE',
      })
      expect(await lake.stat(`${base}/p/g.parquet`)).toBeUndefined()
    })

    it('reports missing things without throwing where the contract says so', async () => {
      expect(await lake.list(`${base}/nope`)).toEqual([])
      expect(await lake.stat(`${base}/nope/x`)).toBeUndefined()
      expect(await lake.delete(`${base}/nope`)).toBe(false)
      const err = await lake.readFile(`${base}/nope.txt`).catch((e) => e)
      expect(isLakeNotFound(err)).toBe(true)
      const err2 = await lake.getFile(`${base}/nope.txt`, path.join(scratch, 'never')).catch((e) => e)
      expect(isLakeNotFound(err2)).toBe(true)
    })

    it('lists a directory sorted, with relative paths', async () => {
      await lake.writeFile(`${base}/d/b.txt`, 'bb')
      await lake.writeFile(`${base}/d/a.txt`, 'a')
      await lake.mkdirs(`${base}/d/sub`)
      const entries = await lake.list(`${base}/d`)
      expect(entries.map((e) => [e.name, e.path, e.type, e.size])).toEqual([
        ['a.txt', `${base}/d/a.txt`, 'file', 1],
        ['b.txt', `${base}/d/b.txt`, 'file', 2],
        ['sub', `${base}/d/sub`, 'dir', 0],
      ])
    })

    it('mkdirs is mkdir -p and idempotent', async () => {
      await lake.mkdirs(`${base}/m/n/o`)
      await lake.mkdirs(`${base}/m/n/o`)
      expect(await lake.stat(`${base}/m/n/o`)).toMatchObject({ type: 'dir' })
    })

    it('renames atomically, creating the destination parent', async () => {
      await lake.writeFile(`${base}/staging/f.json`, '{}')
      await lake.rename(`${base}/staging/f.json`, `${base}/commits/deep/f.json`)
      expect(await lake.stat(`${base}/staging/f.json`)).toBeUndefined()
      expect((await lake.readFile(`${base}/commits/deep/f.json`)).toString()).toBe('{}')
    })

    it('renames directories', async () => {
      await lake.writeFile(`${base}/s/x/1.txt`, '1')
      await lake.rename(`${base}/s/x`, `${base}/t/x`)
      expect((await lake.readFile(`${base}/t/x/1.txt`)).toString()).toBe('1')
      expect(await lake.list(`${base}/s`)).toEqual([])
    })

    it('rename throws when the source is missing or the destination exists', async () => {
      await expect(lake.rename(`${base}/missing`, `${base}/y`)).rejects.toMatchObject({
        code: 'LAKE_RENAME_FAILED',
      })
      await lake.writeFile(`${base}/a`, 'a')
      await lake.writeFile(`${base}/b`, 'b')
      await expect(lake.rename(`${base}/a`, `${base}/b`)).rejects.toMatchObject({
        code: 'LAKE_RENAME_FAILED',
      })
      expect((await lake.readFile(`${base}/b`)).toString()).toBe('b')
      expect((await lake.readFile(`${base}/a`)).toString()).toBe('a')
    })

    it('deletes files and directories', async () => {
      await lake.writeFile(`${base}/del/x.txt`, 'x')
      await expect(lake.delete(`${base}/del`)).rejects.toMatchObject({ code: 'LAKE_DIR_NOT_EMPTY' })
      expect(await lake.delete(`${base}/del/x.txt`)).toBe(true)
      expect(await lake.delete(`${base}/del/x.txt`)).toBe(false)
      await lake.writeFile(`${base}/del/y.txt`, 'y')
      expect(await lake.delete(`${base}/del`, true)).toBe(true)
      expect(await lake.stat(`${base}/del`)).toBeUndefined()
    })

    it("refuses paths with '..'", async () => {
      await expect(lake.writeFile('../escape.txt', 'x')).rejects.toMatchObject({ code: 'LAKE_BAD_PATH' })
      await expect(lake.readFile(`${base}/../../etc/passwd`)).rejects.toMatchObject({ code: 'LAKE_BAD_PATH' })
      expect(() => lake.localPath('a/../../b')).toThrow(/\.\./)
    })

    it('concurrent writers of one name: exactly one wins', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => lake.writeFile(`${base}/race.txt`, `writer-${i}`)),
      )
      const ok = results.filter((r) => r.status === 'fulfilled')
      expect(ok).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(isLakeAlreadyExists(r.reason)).toBe(true)
      expect((await lake.readFile(`${base}/race.txt`)).toString()).toMatch(/^writer-\d$/)
      expect((await lake.list(base)).map((e) => e.name)).toEqual(['race.txt'])
    })
  })
}
