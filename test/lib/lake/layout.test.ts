import { describe, expect, it } from 'vitest'
import {
  type Checkpoint,
  type CommitRecord,
  checkpointPath,
  checkpointRecords,
  commitRecordPath,
  dataFilePath,
  mergeState,
  parseCheckpoint,
  parseCommitRecord,
  parseCommitRecordName,
  resumeOffsets,
  stagedPath,
  topicIncarnation,
} from '../../../src/lib/lake/layout.js'

const record = (offsets: Record<string, string>, topic = 'game_events'): CommitRecord => ({
  formatVersion: 1,
  commitId: 'c1',
  seq: 1,
  createdAt: '2026-11-28T00:00:00Z',
  topic,
  group: 'game-stream',
  offsets,
  files: [],
})

describe('lake layout', () => {
  it('puts data under Hive partitions and metadata under _game', () => {
    expect(dataFilePath('purchases', '2026-11-28', 'abc', 3)).toBe(
      'purchases/dt=2026-11-28/part-abc-00003.parquet',
    )
    expect(commitRecordPath(7, 'abc')).toBe('_game/commits/00000000000000000007-abc.json')
    expect(stagedPath('abc', 'purchases/x.parquet')).toBe('_game/staging/abc/purchases/x.parquet')
  })

  it('parses commit record names and rejects others', () => {
    expect(parseCommitRecordName('00000000000000000007-abc.json')).toEqual({ seq: 7, commitId: 'abc' })
    expect(parseCommitRecordName('7-abc.json')).toBeUndefined()
    expect(parseCommitRecordName('00000000000000000007-abc.json.tmp')).toBeUndefined()
  })

  it('validates commit records', () => {
    expect(parseCommitRecord(JSON.stringify(record({ 0: '5' }))).commitId).toBe('c1')
    expect(() => parseCommitRecord('{"formatVersion":2}')).toThrow(/commit record/)
  })

  it('resumes each partition after the highest committed offset of the topic', () => {
    const offsets = resumeOffsets(
      [record({ 0: '10', 1: '4' }), record({ 0: '7', 2: '9' }), record({ 0: '99' }, 'other')],
      'game_events',
    )
    expect([...offsets.entries()].sort()).toEqual([
      [0, 10n],
      [1, 4n],
      [2, 9n],
    ])
  })
})

describe('checkpoint merge (pure)', () => {
  const rec = (
    commitId: string,
    seq: number,
    topic: string,
    offsets: Record<string, string>,
    paths: string[],
  ) =>
    ({
      formatVersion: 1,
      commitId,
      seq,
      createdAt: `2026-11-28T00:00:${String(seq).padStart(2, '0')}Z`,
      topic,
      group: 'g',
      offsets,
      files: paths.map((path) => ({ table: 'purchases' as const, path, rows: 1, bytes: 2 })),
    }) satisfies CommitRecord

  it('takes the max offset numerically, unions files by path and commit ids, counts a record once', () => {
    const a = rec('a', 1, 't', { 0: '9', 1: '100' }, ['purchases/dt=x/a.parquet'])
    const b = rec('b', 2, 't', { 0: '10' }, ['purchases/dt=x/b.parquet'])
    const c = rec('c', 3, 'u', { 0: '1' }, [])
    const first = mergeState([], [b, a])
    expect(first.offsets).toEqual({ t: { 0: '10', 1: '100' } }) // '10' > '9' as numbers, not strings
    expect(first.commitIds).toEqual(['a', 'b'])
    expect(first.files.map((f) => f.path)).toEqual(['purchases/dt=x/a.parquet', 'purchases/dt=x/b.parquet'])
    const cp: Checkpoint = {
      formatVersion: 1,
      id: 'k1',
      createdAt: '2026-11-28T01:00:00Z',
      ...first,
      covers: { commits: [], checkpoints: [] },
    }
    const again = mergeState([cp, cp], [a, c])
    expect(again.commitIds).toEqual(['a', 'b', 'c'])
    expect(again.files).toHaveLength(2)
    expect(again.seq).toBe(3)
    expect(again.offsets).toEqual({ t: { 0: '10', 1: '100' }, u: { 0: '1' } })
    expect(again.lastCommitAt).toBe(c.createdAt)
  })

  it('stands in for its records: one record per topic, files and commit count on the first', () => {
    const cp: Checkpoint = {
      formatVersion: 1,
      id: 'k2',
      createdAt: '2026-11-28T01:00:00Z',
      ...mergeState(
        [],
        [rec('a', 4, 'u', { 2: '7' }, ['purchases/dt=x/a.parquet']), rec('b', 5, 't', { 0: '3' }, [])],
      ),
      covers: { commits: [], checkpoints: [] },
    }
    const stand = checkpointRecords(cp)
    expect(stand.map((r) => [r.topic, r.seq, r.merged, r.files.length])).toEqual([
      ['t', 5, 2, 1],
      ['u', 5, 0, 0],
    ])
    expect(resumeOffsets(stand, 'u').get(2)).toBe(7n)
    expect(() => mergeState([], stand)).toThrow(/stand-in/)
    expect(checkpointPath(5, 'k2')).toBe('_game/checkpoints/00000000000000000005-k2.json')
    expect(parseCheckpoint(JSON.stringify(cp)).commitIds).toEqual(['a', 'b'])
    expect(() => parseCheckpoint(JSON.stringify({ ...cp, covers: undefined }))).toThrow(/checkpoint/)
  })
})

describe('topic incarnations (pure)', () => {
  const rec = (seq: number, offset: string, topicId?: string, topic = 't'): CommitRecord => ({
    ...record({ 0: offset }, topic),
    commitId: `c${seq}`,
    seq,
    ...(topicId ? { topicId } : {}),
  })

  it("keeps the current id's records (and older id-less ones of the first id), names the lake's last id", () => {
    const records = [
      rec(1, '5'),
      rec(2, '9', 'A'),
      rec(3, '14', 'A'),
      rec(4, '3', 'B'),
      rec(5, '1', 'A', 'other'),
    ]
    const now = topicIncarnation(records, 't', 'B')
    expect(now.lakeTopicId).toBe('B')
    expect(now.records.map((r) => r.seq)).toEqual([4])
    expect(resumeOffsets(now.records, 't').get(0)).toBe(3n)
    const old = topicIncarnation(records.slice(0, 3), 't', 'A')
    expect(old.lakeTopicId).toBe('A')
    expect(old.records.map((r) => r.seq)).toEqual([1, 2, 3])
    // A new id the lake has not seen: none of the records count, and the plan says so (lakeTopicId A).
    expect(topicIncarnation(records.slice(0, 3), 't', 'B')).toEqual({ records: [], lakeTopicId: 'A' })
    // Unknown on either side: every record of the topic counts (as before ids).
    expect(topicIncarnation(records, 't', undefined).records).toHaveLength(4)
    expect(topicIncarnation([rec(1, '5')], 't', 'B')).toEqual({
      records: [rec(1, '5')],
      lakeTopicId: undefined,
    })
  })

  it("a checkpoint that merges two incarnations keeps only the current one's offsets", () => {
    // The old topic reached 900, the recreated one is at 40: resuming at 900 would skip 40..899.
    const old = [rec(1, '500', 'A'), rec(2, '900', 'A')]
    const now = [rec(3, '40', 'B')]
    const all = mergeState([], [...old, ...now])
    expect(all.offsets).toEqual({ t: { 0: '40' } })
    expect(all.topicIds).toEqual({ t: 'B' })
    // The same through a checkpoint of the old incarnation, in either order of reading.
    const cp = mergeState([], old)
    expect(cp.offsets).toEqual({ t: { 0: '900' } })
    expect(mergeState([cp], now).offsets).toEqual({ t: { 0: '40' } })
    const cpAll = mergeState([cp], now)
    expect(mergeState([cpAll, cp], []).offsets).toEqual({ t: { 0: '40' } })
    // Records from before ids count for the first id the lake saw, as topicIncarnation says.
    expect(mergeState([], [rec(1, '7'), rec(2, '9', 'A')]).offsets).toEqual({ t: { 0: '9' } })
    expect(mergeState([], [rec(1, '70'), rec(2, '9', 'A'), rec(3, '3', 'B')]).offsets).toEqual({
      t: { 0: '3' },
    })
    const standIns = checkpointRecords({ id: 'k', createdAt: '2026-11-28T00:00:00Z', ...all })
    expect(resumeOffsets(topicIncarnation(standIns, 't', 'B').records, 't').get(0)).toBe(40n)
  })

  it('checkpoints keep the last id per topic, and their stand-in records carry it', () => {
    const merged = mergeState([], [rec(1, '5', 'A'), rec(2, '7', 'B'), rec(3, '2', 'C', 'other')])
    expect(merged.topicIds).toEqual({ t: 'B', other: 'C' })
    const standIns = checkpointRecords({ id: 'k', createdAt: '2026-11-28T00:00:00Z', ...merged })
    expect(Object.fromEntries(standIns.map((r) => [r.topic, r.topicId]))).toEqual({ t: 'B', other: 'C' })
  })
})
