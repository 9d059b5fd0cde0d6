import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileCache, readAt, writeAll, writeFileDurable } from '../../../../src/lib/broker/log/files.js'
import { withTempDir } from './helpers.js'

describe('file plumbing', () => {
  it('keeps at most maxOpen idle handles and never closes one in use', () =>
    withTempDir(async (dir) => {
      const files = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const f = path.join(dir, `f${i}`)
          await writeFile(f, `file ${i}`)
          return f
        }),
      )
      const cache = new FileCache(2)
      const held = await cache.acquire(files[0])
      for (const f of files.slice(1)) {
        const l = await cache.acquire(f)
        expect((await readAt(l.fh, 0, 6)).toString()).toBe(`file ${f.slice(-1)}`)
        l.release()
      }
      expect(cache.openCount).toBeLessThanOrEqual(2)
      // The held handle survived every eviction.
      expect((await readAt(held.fh, 0, 6)).toString()).toBe('file 0')
      // forget() while in use: still usable until released, then closed.
      await cache.forget(files[0])
      expect((await readAt(held.fh, 0, 6)).toString()).toBe('file 0')
      held.release()
      await new Promise((r) => setImmediate(r))
      await expect(held.fh.stat()).rejects.toThrow()
      await cache.closeAll()
      expect(cache.openCount).toBe(0)
      await expect(cache.acquire(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/)
      expect(cache.openCount).toBe(0)
    }))

  it('writes vectors fully, reads short only at end of file, replaces files durably', () =>
    withTempDir(async (dir) => {
      const f = path.join(dir, 'w')
      await writeFile(f, '')
      const cache = new FileCache(4)
      const l = await cache.acquire(f)
      expect(await writeAll(l.fh, [Buffer.from('abc'), Buffer.from('defg')], 2)).toBe(7)
      expect((await readAt(l.fh, 0, 100)).toString('latin1')).toBe('\0\0abcdefg')
      expect((await readAt(l.fh, 4, 2)).toString()).toBe('cd')
      l.release()
      await cache.closeAll()
      await writeFileDurable(path.join(dir, 'x.json'), '{"a":1}')
      await writeFileDurable(path.join(dir, 'x.json'), '{"a":2}')
      expect(await readFile(path.join(dir, 'x.json'), 'utf8')).toBe('{"a":2}')
    }))
})
