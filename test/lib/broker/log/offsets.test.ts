import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeFrames, encodeFrame, FileGroupOffsetStore } from '../../../../src/lib/broker/log/offsets.js'
import { withTempDir } from './helpers.js'

const v = (offset: bigint, metadata: string | null = null, commitTimestamp = 1) => ({
  offset,
  metadata,
  commitTimestamp,
})

describe('group offset store', () => {
  it('commits, fetches and replays offsets and generations', () =>
    withTempDir(async (dir) => {
      const s = await FileGroupOffsetStore.open(dir)
      expect(s.groups()).toEqual([])
      expect(s.lastGeneration('g')).toBe(0)
      await s.commit('g', 'a', 0, v(5n, 'meta', 100))
      await s.commitMany('g', [
        { topic: 'a', partition: 1, value: v(7n) },
        { topic: 'b', partition: 0, value: v(9_000_000_000_000n) },
      ])
      await s.commit('h', 'a', 0, v(1n))
      await s.setGeneration('g', 3)
      await s.commit('g', 'a', 0, v(6n, null, 200))
      expect(s.fetch('g', 'a', 0)).toEqual(v(6n, null, 200))
      await s.close()

      const r = await FileGroupOffsetStore.open(dir)
      expect(r.groups().sort()).toEqual(['g', 'h'])
      expect(r.fetch('g', 'a', 0)).toEqual(v(6n, null, 200))
      expect(r.fetch('g', 'b', 0)?.offset).toBe(9_000_000_000_000n)
      expect(r.fetch('g', 'a', 2)).toBeUndefined()
      expect(
        r
          .fetchAll('g')
          .map((e) => `${e.topic}/${e.partition}=${e.value.offset}`)
          .sort(),
      ).toEqual(['a/0=6', 'a/1=7', 'b/0=9000000000000'])
      expect(r.lastGeneration('g')).toBe(3)
      expect(r.lastGeneration('h')).toBe(0)
      await r.deleteTopic('a')
      expect(r.fetchAll('g').map((e) => e.topic)).toEqual(['b'])
      await r.close()
      const r2 = await FileGroupOffsetStore.open(dir)
      expect(r2.fetch('h', 'a', 0)).toBeUndefined()
      expect(r2.fetch('g', 'b', 0)?.offset).toBe(9_000_000_000_000n)
      await r2.close()
    }))

  it('concurrent commits share writes and all land, in order', () =>
    withTempDir(async (dir) => {
      const s = await FileGroupOffsetStore.open(dir)
      await Promise.all(Array.from({ length: 100 }, (_, i) => s.commit('g', 't', i % 4, v(BigInt(i)))))
      expect([0, 1, 2, 3].map((p) => s.fetch('g', 't', p)?.offset)).toEqual([96n, 97n, 98n, 99n])
      await s.close()
      const r = await FileGroupOffsetStore.open(dir)
      expect([0, 1, 2, 3].map((p) => r.fetch('g', 't', p)?.offset)).toEqual([96n, 97n, 98n, 99n])
      await r.close()
    }))

  it('replays up to the first bad frame and cuts the torn tail off', () =>
    withTempDir(async (dir) => {
      const s = await FileGroupOffsetStore.open(dir)
      await s.commit('g', 't', 0, v(1n))
      await s.commit('g', 't', 0, v(2n))
      await s.close()
      const file = path.join(dir, 'offsets.log')
      const good = (await stat(file)).size
      // A frame whose CRC does not match, then a valid frame after it (must be ignored: after garbage).
      const bad = encodeFrame(Buffer.from(JSON.stringify({ k: 'c', g: 'g', e: [['t', 0, '99', null, 1]] })))
      bad[bad.length - 3] ^= 1
      await appendFile(file, bad)
      await appendFile(
        file,
        encodeFrame(Buffer.from(JSON.stringify({ k: 'c', g: 'g', e: [['t', 0, '77', null, 1]] }))),
      )
      const r = await FileGroupOffsetStore.open(dir)
      expect(r.fetch('g', 't', 0)?.offset).toBe(2n)
      expect(r.stats().truncatedBytes).toBeGreaterThan(0)
      expect((await stat(file)).size).toBe(good)
      await r.commit('g', 't', 0, v(3n))
      await r.close()

      // A half-written frame (length says more than there is).
      await appendFile(file, Buffer.from([0, 0, 1, 0, 1, 2, 3]))
      const r2 = await FileGroupOffsetStore.open(dir)
      expect(r2.fetch('g', 't', 0)?.offset).toBe(3n)
      await r2.close()
    }))

  it('compacts when the log grows, keeping the live state', () =>
    withTempDir(async (dir) => {
      const s = await FileGroupOffsetStore.open(dir, { compactBytes: 4096 })
      await s.setGeneration('g', 42)
      for (let i = 0; i < 300; i++) await s.commit('g', 't', i % 3, v(BigInt(i), `m${i}`))
      await s.commit('other', 'u', 0, v(5n))
      expect(s.stats().compactions).toBeGreaterThan(0)
      const file = path.join(dir, 'offsets.log')
      expect((await stat(file)).size).toBeLessThan(4096 + 200)
      await s.close()
      const r = await FileGroupOffsetStore.open(dir, { compactBytes: 4096 })
      expect([0, 1, 2].map((p) => r.fetch('g', 't', p))).toEqual([
        v(297n, 'm297'),
        v(298n, 'm298'),
        v(299n, 'm299'),
      ])
      expect(r.lastGeneration('g')).toBe(42)
      expect(r.fetch('other', 'u', 0)?.offset).toBe(5n)
      const { payloads, validBytes } = decodeFrames(await readFile(file))
      expect(validBytes).toBe((await stat(file)).size)
      expect(payloads.length).toBeLessThan(100) // 302 frames were written
      await r.close()
    }))

  it('an empty or zero-filled file opens empty', () =>
    withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'offsets.log'), Buffer.alloc(64))
      const s = await FileGroupOffsetStore.open(dir)
      expect(s.groups()).toEqual([])
      await s.commit('g', 't', 0, v(1n))
      await s.close()
      await truncate(path.join(dir, 'offsets.log'), 0)
      const r = await FileGroupOffsetStore.open(dir)
      expect(r.groups()).toEqual([])
      await r.close()
    }))
})
