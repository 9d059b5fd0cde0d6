import { appendFile, readFile, rm, stat, truncate } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { crc32c } from '../../../../src/lib/protocol/crc32c.js'
import {
  batchBases,
  Compression,
  decodeRecords,
  errorCode,
  fill,
  makeBatch,
  open,
  readAll,
  segmentFiles,
  values,
  withTempDir,
} from './helpers.js'

describe('partition log: append and read', () => {
  it('round-trips records across segment rolls, byte for byte', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 8 * 1024 })
      const log = m.partition('t', 0)!
      const sent: Buffer[] = []
      for (let i = 0; i < 120; i++) {
        const b = await makeBatch({ values: values('v', Number(log.highWatermark()), 1 + (i % 5), 200) })
        const copy = Buffer.from(b)
        const r = await log.append(b)
        copy.writeBigInt64BE(r.baseOffset, 0)
        sent.push(copy)
        expect(r.logStartOffset).toBe(0n)
      }
      const total = sent.reduce((n, b) => n + b.readInt32BE(23) + 1, 0)
      expect(log.highWatermark()).toBe(BigInt(total))
      const logs = await segmentFiles(path.join(dir, 't-0'), '.log')
      expect(logs.length).toBeGreaterThan(5)
      expect(logs[0]).toBe('00000000000000000000.log')
      // Every closed segment got its indexes; each .log holds whole batches and respects the roll size.
      expect(await segmentFiles(path.join(dir, 't-0'), '.index')).toHaveLength(logs.length - 1)
      for (const f of logs) expect((await stat(path.join(dir, 't-0', f))).size).toBeLessThanOrEqual(8 * 1024)

      // Stored bytes are the produced bytes with the base offset set.
      const stored = Buffer.concat(await Promise.all(logs.map((f) => readFile(path.join(dir, 't-0', f)))))
      expect(stored.equals(Buffer.concat(sent))).toBe(true)

      const all = await readAll(log, 0n, 3000)
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => BigInt(i)))
      expect(all.every((r) => r.value.startsWith(`v-${r.offset}.`))).toBe(true)
      // One big read crosses segments too.
      const big = await log.read(0n, 10 << 20)
      expect(big.records.equals(stored)).toBe(true)
      expect(big.highWatermark).toBe(BigInt(total))
      expect(log.sizeBytes()).toBe(stored.length)
      await m.close()
    }))

  it('reads from the middle of a batch return that whole batch; maxBytes keeps whole batches, at least one', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      const bases = await fill(log, 10, 10, 100) // batches of 10 records, ~1.3 KiB each
      expect(bases).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i * 10)))

      const mid = await log.read(37n, 1)
      expect(batchBases(mid.records)).toEqual([30n]) // one whole batch although maxBytes = 1
      const recs = await decodeRecords(mid.records)
      expect(recs.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(30 + i)))

      const one = mid.records.length
      const two = await log.read(30n, one * 2 + one - 1)
      expect(batchBases(two.records)).toEqual([30n, 40n])
      const last = await log.read(99n, 1 << 20)
      expect(batchBases(last.records)).toEqual([90n])
      const atEnd = await log.read(100n, 1 << 20)
      expect(atEnd.records.length).toBe(0)
      expect(atEnd.highWatermark).toBe(100n)
      expect(await errorCode(log.read(101n, 100))).toBe('OFFSET_OUT_OF_RANGE')
      expect(await errorCode(log.read(-1n, 100))).toBe('OFFSET_OUT_OF_RANGE')
      await m.close()
    }))

  it('rejects corrupt payloads whole: nothing appended, offsets unchanged', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      await fill(log, 1, 3)
      const good = await makeBatch({ values: ['g1', 'g2'] })
      const badCrc = Buffer.from(good)
      badCrc[badCrc.length - 2] ^= 0x40
      const badMagic = Buffer.from(good)
      badMagic[16] = 1
      const before = log.sizeBytes()
      expect(await errorCode(log.append(Buffer.concat([good, badCrc])))).toBe('CORRUPT_MESSAGE')
      expect(await errorCode(log.append(badMagic))).toBe('CORRUPT_MESSAGE')
      expect(await errorCode(log.append(good.subarray(0, good.length - 3)))).toBe('CORRUPT_MESSAGE')
      expect(await errorCode(log.append(Buffer.concat([good, Buffer.from('garbage')])))).toBe(
        'CORRUPT_MESSAGE',
      )
      expect(log.highWatermark()).toBe(3n)
      expect(log.sizeBytes()).toBe(before)
      expect((await log.append(Buffer.from(good))).baseOffset).toBe(3n)
      expect((await decodeRecords((await log.read(3n, 1000)).records)).map((r) => r.value)).toEqual([
        'g1',
        'g2',
      ])
      await m.close()
    }))

  it('stores compressed batches untouched (kafkajs gzip and an opaque zstd-flagged batch)', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      await fill(log, 1, 2, 0, () => 500)
      const gz = await makeBatch({
        values: values('gz', 0, 50, 50),
        compression: Compression.GZIP,
        timestamp: 900,
      })
      const gzCopy = Buffer.from(gz)
      expect((await log.append(gz)).baseOffset).toBe(2n)

      // Hand-built: attributes = 4 (zstd), 3 records, an opaque "compressed" body with a valid CRC.
      const body = Buffer.from('not really zstd, the broker must not care')
      const zstd = Buffer.alloc(61 + body.length)
      zstd.writeInt32BE(zstd.length - 12, 8)
      zstd.writeInt8(2, 16)
      zstd.writeInt16BE(4, 21)
      zstd.writeInt32BE(2, 23)
      zstd.writeBigInt64BE(1000n, 27)
      zstd.writeBigInt64BE(1002n, 35)
      zstd.writeBigInt64BE(-1n, 43)
      zstd.writeInt32BE(3, 57)
      body.copy(zstd, 61)
      zstd.writeUInt32BE(crc32c(zstd, 21), 17)
      const zCopy = Buffer.from(zstd)
      expect((await log.append(zstd)).baseOffset).toBe(52n)
      expect(log.highWatermark()).toBe(55n)

      const g = (await log.read(10n, 1)).records
      gzCopy.writeBigInt64BE(2n, 0)
      expect(g.equals(gzCopy)).toBe(true)
      expect((await decodeRecords(g)).map((r) => r.value.slice(0, 5))).toContain('gz-49')
      const z = (await log.read(54n, 1)).records
      zCopy.writeBigInt64BE(52n, 0)
      expect(z.equals(zCopy)).toBe(true)
      expect(await log.offsetForTimestamp(1001n)).toEqual({ offset: 52n, timestamp: 1002n })
      await m.close()
    }))

  it('group-commits concurrent appends: contiguous offsets in call order, all durable', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 16 * 1024 })
      const log = m.partition('t', 0)!
      const batches = await Promise.all(
        Array.from({ length: 200 }, (_, i) => makeBatch({ values: values(`c${i}`, 0, 1 + (i % 3), 150) })),
      )
      const results = await Promise.all(batches.map((b) => log.append(b)))
      let expected = 0n
      for (let i = 0; i < results.length; i++) {
        expect(results[i].baseOffset).toBe(expected)
        expected += BigInt(1 + (i % 3))
      }
      expect(log.highWatermark()).toBe(expected)
      // Group commit: 200 appends issued together share a handful of writes and fdatasyncs.
      const stats = (log as unknown as { stats(): { writes: number; syncs: number } }).stats()
      expect(stats.syncs).toBeGreaterThan(0)
      expect(stats.syncs).toBeLessThanOrEqual(20)
      expect(stats.writes).toBeLessThanOrEqual(40)
      const all = await readAll(log, 0n)
      expect(all).toHaveLength(Number(expected))
      expect(all[0].value.startsWith('c0-0')).toBe(true)
      expect(all[all.length - 1].value.startsWith('c199-')).toBe(true)
      await m.close()
    }))

  it('the high watermark moves only once an append is durable', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      const pending = log.append(await makeBatch({ values: ['a', 'b'] }))
      expect(log.highWatermark()).toBe(0n)
      expect((await log.read(0n, 1000)).records.length).toBe(0)
      expect(await errorCode(log.read(1n, 1000))).toBe('OFFSET_OUT_OF_RANGE')
      expect((await pending).baseOffset).toBe(0n)
      expect(log.highWatermark()).toBe(2n)
      expect(batchBases((await log.read(1n, 1000)).records)).toEqual([0n])
      await m.close()
    }))

  it('waitForData wakes on append, times out, and honours abort', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      const t0 = Date.now()
      await log.waitForData(0n, 50)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45)
      expect(log.highWatermark()).toBe(0n)

      const waiting = log.waitForData(0n, 30_000)
      let woke = false
      void waiting.then(() => {
        woke = true
      })
      await Promise.resolve()
      expect(woke).toBe(false)
      await log.append(await makeBatch({ values: ['x'] }))
      await waiting
      expect(woke).toBe(true)
      await log.waitForData(0n, 30_000) // already has data: immediate

      const ac = new AbortController()
      const aborted = log.waitForData(1n, 30_000, ac.signal)
      const t1 = Date.now()
      ac.abort()
      await aborted
      expect(Date.now() - t1).toBeLessThan(1000)
      await m.close()
    }))

  it('finds offsets by timestamp using batch max timestamps, across segments', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 4096 })
      const log = m.partition('t', 0)!
      // 60 batches of 2 records at t = 1000, 1010, ...; one out-of-order batch (batch 40 at t=5).
      await fill(log, 60, 2, 300, (i) => (i === 40 ? 5 : 1000 + i * 10))
      expect((await segmentFiles(path.join(dir, 't-0'), '.log')).length).toBeGreaterThan(3)
      expect(await log.offsetForTimestamp(0n)).toEqual({ offset: 0n, timestamp: 1000n })
      expect(await log.offsetForTimestamp(1000n)).toEqual({ offset: 0n, timestamp: 1000n })
      expect(await log.offsetForTimestamp(1001n)).toEqual({ offset: 2n, timestamp: 1010n })
      expect(await log.offsetForTimestamp(1395n)).toEqual({ offset: 82n, timestamp: 1410n })
      expect(await log.offsetForTimestamp(1590n)).toEqual({ offset: 118n, timestamp: 1590n })
      expect(await log.offsetForTimestamp(1591n)).toBeNull()
      await m.close()
      const m2 = await open(dir)
      expect(await m2.partition('t', 0)!.offsetForTimestamp(1395n)).toEqual({ offset: 82n, timestamp: 1410n })
      await m2.close()
    }))
})

describe('partition log: write failures', () => {
  it('a failed write rejects with STORAGE_ERROR and makes only that partition read-only', () =>
    withTempDir(async (dir) => {
      const m = await open(dir, { maxOpenFiles: 4 })
      await m.createTopic('t', 6)
      for (let p = 0; p < 6; p++) await fill(m.partition('t', p)!, 1, 1)
      // p0's handle was evicted; its directory disappears under it (a lost disk, a careless rm).
      await rm(path.join(dir, 't-0'), { recursive: true })
      const p0 = m.partition('t', 0)!
      expect(await errorCode(p0.append(await makeBatch({ values: ['lost'] })))).toBe('STORAGE_ERROR')
      expect(await errorCode(p0.append(await makeBatch({ values: ['again'] })))).toBe('STORAGE_ERROR')
      expect(p0.highWatermark()).toBe(1n)
      const p1 = m.partition('t', 1)!
      expect((await p1.append(await makeBatch({ values: ['fine'] }))).baseOffset).toBe(1n)
      await m.close()
    }))
})

describe('partition log: recovery', () => {
  it('reopens with every record, segment and offset', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 2, { segmentBytes: 4096 })
      await fill(m.partition('t', 0)!, 40, 3, 100)
      await fill(m.partition('t', 1)!, 5, 1)
      const before = (await m.partition('t', 0)!.read(0n, 1 << 20)).records
      await m.close()
      const m2 = await open(dir)
      const p0 = m2.partition('t', 0)!
      expect(p0.highWatermark()).toBe(120n)
      expect(m2.partition('t', 1)!.highWatermark()).toBe(5n)
      expect((await p0.read(0n, 1 << 20)).records.equals(before)).toBe(true)
      expect((await p0.append(await makeBatch({ values: ['after'] }))).baseOffset).toBe(120n)
      expect((await readAll(p0, 0n)).map((r) => r.offset)).toEqual(
        Array.from({ length: 121 }, (_, i) => BigInt(i)),
      )
      await m2.close()
    }))

  it('truncates a torn tail (half a batch, then garbage) back to the last whole batch', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 4096 })
      const log = m.partition('t', 0)!
      await fill(log, 30, 2, 100)
      await m.close()
      const pdir = path.join(dir, 't-0')
      const logs = await segmentFiles(pdir, '.log')
      const active = path.join(pdir, logs[logs.length - 1])
      const activeBase = BigInt(logs[logs.length - 1].slice(0, 20))
      const { size } = await stat(active)
      // Torn write: a whole extra batch cut in half, then junk from a later write.
      const extra = await makeBatch({ values: values('torn', 0, 2, 100) })
      extra.writeBigInt64BE(60n, 0)
      await appendFile(active, extra.subarray(0, 40))
      await appendFile(active, Buffer.from('\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff\xff\xffjunk'))

      const m2 = await open(dir)
      const p = m2.partition('t', 0)!
      expect(p.highWatermark()).toBe(60n)
      expect((await stat(active)).size).toBe(size)
      const all = await readAll(p, activeBase)
      expect(all[all.length - 1].offset).toBe(59n)
      expect((await p.append(await makeBatch({ values: ['ok'] }))).baseOffset).toBe(60n)
      await m2.close()

      // A flipped byte inside the last batch (bad CRC) also cuts it off.
      const s2 = (await stat(active)).size
      const buf = await readFile(active)
      buf[s2 - 5] ^= 0xff
      await rm(active)
      await appendFile(active, buf)
      const m3 = await open(dir)
      expect(m3.partition('t', 0)!.highWatermark()).toBe(60n)
      await m3.close()
    }))

  it('rebuilds a deleted or damaged index and keeps reads and time lookups right', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 64 * 1024 })
      await fill(m.partition('t', 0)!, 150, 4, 200, (i) => 10_000 + i)
      const pdir = path.join(dir, 't-0')
      const idx = await segmentFiles(pdir, '.index')
      expect(idx.length).toBeGreaterThanOrEqual(1)
      const first = path.join(pdir, idx[0])
      const original = await readFile(first)
      const originalTime = await readFile(first.replace(/\.index$/, '.timeindex'))
      expect(original.length).toBeGreaterThan(8 * 10) // sparse, but several entries
      expect(original.length % 8).toBe(0)
      const expected = await readAll(m.partition('t', 0)!, 0n)
      await m.close()

      await rm(first)
      const m2 = await open(dir)
      expect((await readFile(first)).equals(original)).toBe(true)
      expect((await readFile(first.replace(/\.index$/, '.timeindex'))).equals(originalTime)).toBe(true)
      const p = m2.partition('t', 0)!
      expect(await readAll(p, 0n, 5000)).toEqual(expected)
      expect(batchBases((await p.read(333n, 1)).records)).toEqual([332n])
      await m2.close()

      // A short (truncated) time index is detected and rebuilt as well.
      await truncate(first.replace(/\.index$/, '.timeindex'), 32)
      const m3 = await open(dir)
      expect((await readFile(first.replace(/\.index$/, '.timeindex'))).equals(originalTime)).toBe(true)
      expect(await m3.partition('t', 0)!.offsetForTimestamp(10_100n)).toEqual({
        offset: 400n,
        timestamp: 10_100n,
      })
      await m3.close()
    }))
})

describe('partition log: retention', () => {
  it('deletes whole old segments by size, never the active one, and persists the log start', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      await m.createTopic('t', 1, { segmentBytes: 4096, retentionBytes: 10_000 })
      const log = m.partition('t', 0)!
      await fill(log, 60, 2, 150)
      const pdir = path.join(dir, 't-0')
      const before = await segmentFiles(pdir, '.log')
      expect(before.length).toBeGreaterThan(5)
      const sizeBefore = log.sizeBytes()
      const { deletedSegments } = await m.enforceRetention()
      expect(deletedSegments).toBeGreaterThan(0)
      const after = await segmentFiles(pdir, '.log')
      expect(after).toEqual(before.slice(deletedSegments))
      expect(log.sizeBytes()).toBeGreaterThanOrEqual(10_000)
      expect(log.sizeBytes()).toBeLessThan(sizeBefore)
      expect(log.sizeBytes() - (await stat(path.join(pdir, after[0]))).size).toBeLessThan(10_000)
      const start = BigInt(after[0].slice(0, 20))
      expect(log.logStartOffset()).toBe(start)
      expect(await errorCode(log.read(start - 1n, 100))).toBe('OFFSET_OUT_OF_RANGE')
      expect(batchBases((await log.read(start, 1)).records)).toEqual([start])
      expect((await log.append(await makeBatch({ values: ['z'] }))).logStartOffset).toBe(start)
      await m.close()

      const m2 = await open(dir)
      expect(m2.partition('t', 0)!.logStartOffset()).toBe(start)
      await m2.close()
    }))

  it('deletes segments whose newest batch is older than retentionMs (at open and on demand)', () =>
    withTempDir(async (dir) => {
      let now = 1_000_000
      const m = await open(dir, { now: () => now })
      await m.createTopic('t', 1, { segmentBytes: 4096, retentionMs: 60_000 })
      await m.createTopic('keep', 1, { segmentBytes: 4096 })
      const log = m.partition('t', 0)!
      // batch i written with timestamp 1_000_000 + i * 1000
      await fill(log, 50, 2, 150, (i) => 1_000_000 + i * 1000)
      await fill(m.partition('keep', 0)!, 50, 2, 150, (i) => i)
      expect((await m.enforceRetention()).deletedSegments).toBe(0)
      now = 1_000_000 + 60_000 + 20_500 // batches 0..20 are older than the limit
      expect((await m.enforceRetention()).deletedSegments).toBeGreaterThan(0)
      const start = log.logStartOffset()
      expect(start).toBeGreaterThan(0n)
      expect(start).toBeLessThanOrEqual(42n) // batch 21 (offset 42) is young enough to keep
      const firstKept = (await decodeRecords((await log.read(start, 1)).records))[0]
      expect(firstKept.offset).toBe(start)
      expect(m.partition('keep', 0)!.logStartOffset()).toBe(0n)
      await m.close()

      now = 10_000_000 // everything old: all but the active segment go, at open
      const m2 = await open(dir, { now: () => now })
      const p = m2.partition('t', 0)!
      expect((await segmentFiles(path.join(dir, 't-0'), '.log')).length).toBe(1)
      expect(p.logStartOffset()).toBeGreaterThan(start)
      expect(p.highWatermark()).toBe(100n)
      await m2.close()
    }))
})
