import { describe, expect, it } from 'vitest'
import {
  type CommitRecord,
  commitRecordPath,
  dataFilePath,
  parseCommitRecord,
  parseCommitRecordName,
  resumeOffsets,
  stagedPath,
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
