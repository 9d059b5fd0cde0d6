/**
 * A full disk under the log (simulated with the DiskBudget write hook, which writes what fits and
 * then fails with ENOSPC, as a real full disk does): appends fail with STORAGE_ERROR, nothing torn
 * stays on disk, the partition writes again by itself once space returns, and the group offsets
 * log and topics.json behave the same.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { DiskBudget } from '../../../../src/lib/broker/log/files.js'
import type { StorageEvent } from '../../../../src/lib/broker/log/health.js'
import { crc32c } from '../../../../src/lib/protocol/crc32c.js'
import { errorCode, makeBatch, open, readAll, segmentFiles, values, withTempDir } from './helpers.js'

function idempotent(batch: Buffer, producerId: bigint, epoch: number, seq: number): Buffer {
  batch.writeBigInt64BE(producerId, 43)
  batch.writeInt16BE(epoch, 51)
  batch.writeInt32BE(seq, 53)
  batch.writeUInt32BE(crc32c(batch, 21), 17)
  return batch
}

async function dirSize(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const n of (await readdir(dir)).sort()) out[n] = (await stat(path.join(dir, n))).size
  return out
}

describe('log on a full disk', () => {
  it('a failed append leaves the segment exactly as before, and the next append after space returns is stored', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const events: StorageEvent[] = []
      const m = await open(dir, {
        faults: disk,
        storageRetryMs: 0,
        storageSettleMs: 0,
        onStorageEvent: (e) => events.push(e),
      })
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      for (let i = 0; i < 5; i++) await log.append(await makeBatch({ values: values('ok', i, 1, 100) }))
      const before = await readFile(path.join(dir, 't-0', '00000000000000000000.log'))

      // Room for half a batch: the write is torn on disk, then undone.
      disk.fill(60)
      const code = await errorCode(log.append(await makeBatch({ values: values('lost', 0, 3, 100) })))
      expect(code).toBe('STORAGE_ERROR')
      expect(disk.refused).toBe(1)
      const after = await readFile(path.join(dir, 't-0', '00000000000000000000.log'))
      expect(after.equals(before)).toBe(true)
      expect(log.highWatermark()).toBe(5n)
      expect(m.storageHealth()).toMatchObject({ ok: false, failing: ['t-0'] })
      expect(m.storageHealth().error).toMatch(/ENOSPC/)

      // Still full: refused again, one event for the whole episode.
      expect(await errorCode(log.append(await makeBatch({ values: ['x'] })))).toBe('STORAGE_ERROR')
      expect(events.filter((e) => e.kind === 'failed')).toHaveLength(1)

      disk.free()
      const r = await log.append(await makeBatch({ values: values('back', 5, 2, 100) }))
      expect(r.baseOffset).toBe(5n)
      expect(log.highWatermark()).toBe(7n)
      expect(m.storageHealth()).toEqual({ ok: true, failing: [], refused: 0 })
      expect(events.map((e) => e.kind)).toEqual(['failed', 'recovered'])
      const recovered = events[1] as Extract<StorageEvent, { kind: 'recovered' }>
      // Both appends of the episode were refused.
      expect(recovered.refused).toBe(2)

      const read = await readAll(log, 0n)
      expect(read.map((x) => x.value.replace(/\.+$/, ''))).toEqual([
        'ok-0',
        'ok-1',
        'ok-2',
        'ok-3',
        'ok-4',
        'back-5',
        'back-6',
      ])
      await m.close()
      // After a restart: every acked record, no torn batch, nothing truncated at recovery.
      const m2 = await open(dir)
      const again = await readAll(m2.partition('t', 0)!, 0n)
      expect(again).toEqual(read)
      await m2.close()
    }))

  it('appends in flight when the disk fills are all refused; offsets stay contiguous afterwards', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk, storageRetryMs: 0 })
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      await log.append(await makeBatch({ values: ['a'] }))
      disk.fill(100)
      const batches = await Promise.all(
        Array.from({ length: 8 }, (_, i) => makeBatch({ values: values('b', i, 2, 50) })),
      )
      const results = await Promise.allSettled(batches.map((b) => log.append(b)))
      expect(results.every((r) => r.status === 'rejected')).toBe(true)
      expect(log.highWatermark()).toBe(1n)
      disk.free()
      const bases = []
      for (let i = 0; i < 3; i++)
        bases.push((await log.append(await makeBatch({ values: ['c', 'd'] }))).baseOffset)
      expect(bases).toEqual([1n, 3n, 5n])
      expect((await readAll(log, 0n)).map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n])
      await m.close()
    }))

  it('a failure while rolling to a new segment undoes the roll: no new segment, no index files, no torn bytes', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk, storageRetryMs: 0 })
      await m.createTopic('t', 1, { segmentBytes: 1024 })
      const log = m.partition('t', 0)!
      const a = await makeBatch({ values: ['a'] })
      const x = await makeBatch({ values: values('x', 0, 1, 150) })
      const y = await makeBatch({ values: values('y', 0, 1, 150) })
      // Fill the first segment so that a and x fit and y rolls.
      while (log.sizeBytes() + a.length + x.length + y.length <= 1024)
        await log.append(await makeBatch({ values: ['f'] }))
      const hw = log.highWatermark()
      // a is written alone (the writer starts at once); x and y queue behind it and form one group:
      // x goes to the old segment, y rolls, and the roll's index write hits the full disk.
      disk.fill(a.length + x.length + 4)
      const settled = await Promise.allSettled([a, x, y].map((b) => log.append(b)))
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected'])
      expect(disk.refused).toBe(1)
      const afterA = await dirSize(path.join(dir, 't-0'))
      expect(Object.keys(afterA)).toEqual(['00000000000000000000.log'])
      expect(afterA['00000000000000000000.log']).toBe(log.sizeBytes())
      expect(log.highWatermark()).toBe(hw + 1n)

      disk.free()
      for (let i = 0; i < 10; i++) await log.append(await makeBatch({ values: values('z', i, 1, 150) }))
      expect((await segmentFiles(path.join(dir, 't-0'), '.log')).length).toBeGreaterThan(1)
      const all = await readAll(log, 0n)
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: all.length }, (_, i) => BigInt(i)))
      expect(all.filter((r) => r.value.startsWith('x') || r.value.startsWith('y'))).toEqual([])
      await m.close()
      const m2 = await open(dir)
      expect(await readAll(m2.partition('t', 0)!, 0n)).toEqual(all)
      await m2.close()
    }))

  it('refuses appends without touching the disk for storageRetryMs after a failure', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk, storageRetryMs: 60_000 })
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      disk.fill()
      expect(await errorCode(log.append(await makeBatch({ values: ['a'] })))).toBe('STORAGE_ERROR')
      disk.free()
      // Within the back-off: refused at once, the disk is not tried (no write reached the hook).
      const spy = { calls: 0 }
      const allow = disk.allow.bind(disk)
      disk.allow = (file, length) => {
        spy.calls++
        return allow(file, length)
      }
      expect(await errorCode(log.append(await makeBatch({ values: ['b'] })))).toBe('STORAGE_ERROR')
      expect(spy.calls).toBe(0)
      expect(m.storageHealth()).toMatchObject({ ok: false, refused: 2 })
      await m.close()
    }))

  it("an idempotent producer's retry of a refused batch is stored, not taken for a duplicate", () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk, storageRetryMs: 0 })
      await m.createTopic('t', 1)
      const log = m.partition('t', 0)!
      await log.append(idempotent(await makeBatch({ values: ['s0'] }), 7n, 0, 0))
      disk.fill(10)
      const batch = idempotent(await makeBatch({ values: ['s1', 's2'] }), 7n, 0, 1)
      expect(await errorCode(log.append(Buffer.from(batch)))).toBe('STORAGE_ERROR')
      disk.free()
      const r = await log.append(Buffer.from(batch))
      expect(r.baseOffset).toBe(1n)
      expect((await readAll(log, 0n)).map((x) => x.value)).toEqual(['s0', 's1', 's2'])
      // And now it is a duplicate: the same offset, not stored twice.
      expect((await log.append(Buffer.from(batch))).baseOffset).toBe(1n)
      expect(log.highWatermark()).toBe(3n)
      await m.close()
    }))

  it('group offset commits fail cleanly on a full disk and work again after, surviving a restart', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk })
      const at = (offset: bigint) => ({ offset, metadata: null, commitTimestamp: 1 })
      await m.offsets.commit('g', 't', 0, at(5n))
      const file = path.join(dir, '__groups', 'offsets.log')
      const size = (await stat(file)).size
      disk.fill(7)
      expect(await errorCode(m.offsets.commit('g', 't', 0, at(9n)))).toBe('STORAGE_ERROR')
      expect((await stat(file)).size).toBe(size)
      expect(m.offsets.fetch('g', 't', 0)?.offset).toBe(5n)
      expect(m.storageHealth()).toMatchObject({ ok: false, failing: ['__groups'] })
      disk.free()
      await m.offsets.commit('g', 't', 0, at(10n))
      expect(m.storageHealth().ok).toBe(true)
      await m.close()
      const m2 = await open(dir)
      expect(m2.offsets.fetch('g', 't', 0)?.offset).toBe(10n)
      await m2.close()
    }))

  it('a compaction of the offsets log that hits the full disk leaves no tmp file and commits go on', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk, offsetsCompactBytes: 150 })
      const at = (offset: bigint) => ({ offset, metadata: null, commitTimestamp: 1 })
      for (let i = 0; i < 3; i++) await m.offsets.commit('g', 't', i, at(BigInt(i)))
      // 3 commit frames of 50 bytes; the next one fits in 60 bytes, the compaction it triggers
      // (one snapshot frame of 3 entries, about 90 bytes) does not.
      expect((await stat(path.join(dir, '__groups', 'offsets.log'))).size).toBe(150)
      disk.fill(60)
      await m.offsets.commit('g', 't', 0, at(100n))
      // The compaction runs after the commit is answered.
      await vi.waitFor(() => expect(disk.refused).toBe(1))
      await m.offsets.commit('g', 't', 2, at(2n)).catch(() => undefined) // waits for the compaction to finish
      expect((await readdir(path.join(dir, '__groups'))).sort()).toEqual(['offsets.log'])
      disk.free()
      await m.offsets.commit('g', 't', 1, at(101n))
      await m.close()
      const m2 = await open(dir)
      expect([0, 1, 2].map((p) => m2.offsets.fetch('g', 't', p)?.offset)).toEqual([100n, 101n, 2n])
      await m2.close()
    }))

  it('a topic that cannot be created on a full disk leaves no trace, and can be created once space returns', () =>
    withTempDir(async (dir) => {
      const disk = new DiskBudget()
      const m = await open(dir, { faults: disk })
      await m.createTopic('a', 1)
      const topics = await readFile(path.join(dir, 'topics.json'), 'utf8')
      disk.fill(20)
      expect(await errorCode(m.createTopic('b', 2))).toBe('STORAGE_ERROR')
      expect(await readFile(path.join(dir, 'topics.json'), 'utf8')).toBe(topics)
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp') || n.startsWith('b-'))).toEqual([])
      expect(m.storageHealth().failing).toEqual(['topics.json'])
      disk.free()
      await m.createTopic('b', 2)
      expect(m.storageHealth().ok).toBe(true)
      await m.close()
      const m2 = await open(dir)
      expect(
        m2
          .topics()
          .map((t) => t.name)
          .sort(),
      ).toEqual(['a', 'b'])
      await m2.close()
    }))
})
