/** Stored data that cannot silently change: damaged segments are refused, one broker per log. */
import { open as fsOpen, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LogError } from '../../../../src/lib/broker/log/index.js'
import { LOCK_FILE } from '../../../../src/lib/broker/log/lock.js'
import { findValidBatchAfter } from '../../../../src/lib/broker/log/segment.js'
import { startBroker } from '../../../../src/lib/broker/server.js'
import { GameError } from '../../../../src/lib/errors.js'
import { fill, makeBatch, open, readAll, segmentFiles, withTempDir } from './helpers.js'

async function filledActiveSegment(dir: string, batches: number) {
  const m = await open(dir)
  await m.createTopic('t', 1)
  await fill(m.partition('t', 0)!, batches, 10, 50)
  await m.close()
  const pdir = path.join(dir, 't-0')
  const logs = await segmentFiles(pdir, '.log')
  return path.join(pdir, logs[logs.length - 1])
}

describe('log recovery: damage in the middle of a segment', () => {
  it('refuses to open (nothing truncated, a copy kept) when valid batches follow a flipped byte', () =>
    withTempDir(async (dir) => {
      const active = await filledActiveSegment(dir, 200)
      const before = await readFile(active)
      // A byte inside the 20th batch's records: its CRC no longer matches; 180 valid batches follow.
      const bad = Buffer.from(before)
      const batchSize = before.length / 200
      bad[Math.floor(batchSize * 19 + batchSize / 2)] ^= 0x01
      await writeFile(active, bad)

      const err = await open(dir).then(
        (m) => m.close().then(() => null),
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(LogError)
      expect((err as LogError).code).toBe('CORRUPT_LOG')
      expect((err as LogError).message).toContain(active)
      expect((err as LogError).hint).toContain(`truncate -s ${batchSize * 19}`)
      // Nothing dropped: the file is as it was, and a copy sits beside it.
      expect((await stat(active)).size).toBe(before.length)
      expect((await readFile(`${active}.corrupt`)).equals(bad)).toBe(true)

      // The documented repair: truncate at the damage, then it opens with the first 190 records.
      await truncate(active, batchSize * 19)
      const m = await open(dir)
      expect(m.partition('t', 0)!.highWatermark()).toBe(190n)
      expect((await readAll(m.partition('t', 0)!, 0n)).length).toBe(190)
      await m.close()
    }))

  it('still truncates a torn tail (an incomplete last batch) silently', () =>
    withTempDir(async (dir) => {
      const active = await filledActiveSegment(dir, 20)
      const { size } = await stat(active)
      await truncate(active, size - 7)
      const m = await open(dir)
      expect(m.partition('t', 0)!.highWatermark()).toBe(190n)
      await m.close()
    }))

  it('startBroker turns the damage into a GameError with the repair hint', () =>
    withTempDir(async (dir) => {
      const active = await filledActiveSegment(dir, 50)
      const buf = await readFile(active)
      buf[200] ^= 0xff
      await writeFile(active, buf)
      const err = await startBroker({ port: 0, dataDir: dir }).then(
        (b) => b.close().then(() => null),
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(GameError)
      expect((err as GameError).code).toBe('BROKER_LOG_CORRUPT')
      expect((err as GameError).hint).toContain('truncate -s')
    }))
})

describe('findValidBatchAfter', () => {
  it('finds a valid batch past the 1 MiB scan chunk, or none in garbage', () =>
    withTempDir(async (dir) => {
      const batch = await makeBatch({ values: ['a', 'b'] })
      // Garbage full of magic bytes (2) and plausible lengths, then a real batch at an odd offset.
      const junk = Buffer.alloc((1 << 20) + 12345, 2)
      const file = path.join(dir, 'seg.log')
      await writeFile(file, Buffer.concat([junk, batch]))
      const fh = await fsOpen(file, 'r')
      try {
        expect(await findValidBatchAfter(fh, 0, junk.length + batch.length)).toBe(junk.length)
        expect(await findValidBatchAfter(fh, 0, junk.length + batch.length - 1)).toBeNull()
      } finally {
        await fh.close()
      }
    }))
})

describe('log directory lock', () => {
  it('a second broker on the same data dir fails with a hint, even with no stack.json', () =>
    withTempDir(async (dir) => {
      const first = await startBroker({ port: 0, dataDir: dir })
      try {
        const err = await startBroker({ port: 0, dataDir: dir }).then(
          (b) => b.close().then(() => null),
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(GameError)
        expect((err as GameError).code).toBe('BROKER_LOG_LOCKED')
        expect((err as GameError).message).toContain(String(process.pid))
        expect((err as GameError).hint).toContain(LOCK_FILE)
      } finally {
        await first.close()
      }
      // Released on close: the next broker opens.
      const again = await startBroker({ port: 0, dataDir: dir })
      await again.close()
    }))

  it('takes over a stale lock whose process is gone, and refuses one held by a live process', () =>
    withTempDir(async (dir) => {
      // A pid far above pid_max on Linux never runs.
      await writeFile(path.join(dir, LOCK_FILE), '99999999\n')
      const m = await open(dir)
      expect((await readFile(path.join(dir, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid))
      await m.close()
      await expect(stat(path.join(dir, LOCK_FILE))).rejects.toThrow()
      // pid 1 is alive (init): someone else's broker.
      await writeFile(path.join(dir, LOCK_FILE), '1\n')
      const err = await open(dir).then(
        (x) => x.close().then(() => null),
        (e: unknown) => e,
      )
      expect((err as LogError).code).toBe('LOG_LOCKED')
      await rm(path.join(dir, LOCK_FILE))
    }))
})
