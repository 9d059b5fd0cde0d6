import { readdir } from 'node:fs/promises'
import { describe, expect, it, vi } from 'vitest'
import { openLogManager } from '../../../../src/lib/broker/log/index.js'
import { errorCode, fill, makeBatch, open, readAll, withTempDir } from './helpers.js'

describe('openLogManager: topics', () => {
  it('creates, lists, persists and deletes topics with validation', () =>
    withTempDir(async (dir) => {
      const m = await open(dir)
      const info = await m.createTopic('game_events', 3, { segmentBytes: 1 << 20 })
      expect(info).toEqual({
        name: 'game_events',
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        partitions: 3,
        config: { retentionBytes: -1, retentionMs: -1, segmentBytes: 1 << 20 },
      })
      expect(await errorCode(m.createTopic('game_events', 1))).toBe('TOPIC_ALREADY_EXISTS')
      expect(await errorCode(m.createTopic('bad/name', 1))).toBe('INVALID_TOPIC')
      expect(await errorCode(m.createTopic('..', 1))).toBe('INVALID_TOPIC')
      expect(await errorCode(m.createTopic('x'.repeat(250), 1))).toBe('INVALID_TOPIC')
      expect(await errorCode(m.createTopic('zero', 0))).toBe('INVALID_PARTITIONS')
      expect(await errorCode(m.createTopic('huge', 10001))).toBe('INVALID_PARTITIONS')
      expect(await errorCode(m.createTopic('cfg', 1, { segmentBytes: 0 }))).toBe('INVALID_CONFIG')
      expect(m.topics().map((t) => t.name)).toEqual(['game_events'])
      expect(await readdir(dir)).toEqual(
        expect.arrayContaining([
          'topics.json',
          'game_events-0',
          'game_events-1',
          'game_events-2',
          '__groups',
        ]),
      )
      expect(m.partition('game_events', 3)).toBeUndefined()
      expect(m.partition('nope', 0)).toBeUndefined()

      const p = m.partition('game_events', 1)!
      await p.append(await makeBatch({ values: ['a'] }))
      await m.offsets.commit('g1', 'game_events', 1, { offset: 1n, metadata: null, commitTimestamp: 5 })
      await m.close()

      const m2 = await open(dir)
      expect(m2.topic('game_events')?.config.segmentBytes).toBe(1 << 20)
      expect(m2.partition('game_events', 1)!.highWatermark()).toBe(1n)
      expect(m2.offsets.fetch('g1', 'game_events', 1)?.offset).toBe(1n)
      await m2.deleteTopic('game_events')
      expect(await errorCode(m2.deleteTopic('game_events'))).toBe('UNKNOWN_TOPIC_OR_PARTITION')
      expect(m2.topic('game_events')).toBeUndefined()
      expect(m2.offsets.fetch('g1', 'game_events', 1)).toBeUndefined()
      expect((await readdir(dir)).filter((n) => n.startsWith('game_events'))).toEqual([])
      // Re-created under the same name: starts empty.
      await m2.createTopic('game_events', 2)
      expect(m2.partition('game_events', 1)!.highWatermark()).toBe(0n)
      await m2.close()

      const m3 = await open(dir)
      expect(m3.topics()).toHaveLength(1)
      expect(m3.offsets.fetch('g1', 'game_events', 1)).toBeUndefined()
      await m3.close()
    }))
})

describe('file handles', () => {
  it('stays within maxOpenFiles with many partitions and segments', () =>
    withTempDir(async (dir) => {
      const m = await open(dir, { maxOpenFiles: 4 })
      await m.createTopic('t', 12, { segmentBytes: 2048 })
      for (let round = 0; round < 3; round++)
        for (let p = 0; p < 12; p++) await fill(m.partition('t', p)!, 3, 2, 200)
      expect(m.openFiles()).toBeLessThanOrEqual(4)
      for (let p = 0; p < 12; p++) expect(await readAll(m.partition('t', p)!, 0n, 1000)).toHaveLength(18)
      expect(m.openFiles()).toBeLessThanOrEqual(4)
      await m.close()
      expect(m.openFiles()).toBe(0)
    }))

  it('interval fsync: appends resolve without a sync each, flush and close make them durable', () =>
    withTempDir(async (dir) => {
      const m = await open(dir, { fsync: { intervalMs: 50 } })
      await m.createTopic('t', 1)
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          m.partition('t', 0)!.append(await makeBatch({ values: [`i${i}`] })),
        ),
      )
      await m.flush()
      await m.close()
      const m2 = await open(dir)
      expect(m2.partition('t', 0)!.highWatermark()).toBe(20n)
      await m2.close()
      expect(await errorCode(openLogManager({ dataDir: dir, fsync: { intervalMs: 0 } }))).toBe(
        'INVALID_CONFIG',
      )
    }))

  it('runs retention on its interval', () =>
    withTempDir(async (dir) => {
      let now = 0
      const m = await open(dir, { retentionCheckIntervalMs: 20, now: () => now })
      await m.createTopic('t', 1, { segmentBytes: 2048, retentionMs: 1000 })
      const log = m.partition('t', 0)!
      await fill(log, 20, 2, 200, () => 0)
      expect(log.logStartOffset()).toBe(0n)
      now = 10_000
      await vi.waitFor(() => expect(log.logStartOffset()).toBeGreaterThan(0n), {
        timeout: 5000,
        interval: 10,
      })
      expect(log.highWatermark()).toBe(40n)
      await m.close()
    }))
})
