import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { TableName } from '../../../src/lib/events/catalog.js'
import { startWebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import {
  DELTA_CHECKPOINTS,
  listCommittedFiles,
  nextSeq,
  readCommitRecords,
  readLakeState,
  recover,
  writeCheckpoint,
} from '../../../src/lib/lake/commit.js'
import {
  CHECKPOINTS_DIR,
  COMMITS_DIR,
  type CommitRecord,
  commitRecordPath,
  dataFilePath,
  resumeOffsets,
  STAGING_DIR,
  stagedPath,
} from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'

let dir: string
let lake: Lake

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-checkpoint-'))
  lake = openLake(pathToFileURL(path.join(dir, 'lake')).href, { hdfsUser: 'game' })
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed by its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

let idCounter = 0
const TABLES: TableName[] = ['purchases', 'transactions', 'messages']

/**
 * Commits like publish() does after roll-forward (data files at their final paths, then the
 * record), without Parquet: the metadata is what is under test.
 */
async function commit(
  target: Lake,
  seq: number,
  offsets: Record<string, string>,
  options: { topic?: string; files?: number; createdAt?: string } = {},
): Promise<CommitRecord> {
  const commitId = `c${String(++idCounter).padStart(6, '0')}`
  const files = []
  for (let n = 0; n < (options.files ?? 1); n++) {
    const table = TABLES[(seq + n) % TABLES.length]
    const p = dataFilePath(table, '2026-11-28', commitId, n)
    await target.writeFile(p, 'x')
    files.push({ table, path: p, rows: seq + n, bytes: 1 })
  }
  const record: CommitRecord = {
    formatVersion: 1,
    commitId,
    seq,
    createdAt: options.createdAt ?? new Date(Date.UTC(2026, 10, 28, 0, 0, idCounter)).toISOString(),
    topic: options.topic ?? 't',
    group: 'g',
    offsets,
    files,
  }
  await target.writeFile(commitRecordPath(seq, commitId), JSON.stringify(record))
  return record
}

/** What any reader must see: files (by path, with rows) and per-topic resume offsets. */
async function view(target: Lake, topics = ['t']) {
  const records = await readCommitRecords(target)
  const files = (await listCommittedFiles(target, undefined, records))
    .map((f) => `${f.path}:${f.rows}`)
    .sort()
  const offsets = Object.fromEntries(
    topics.map((t) => [
      t,
      Object.fromEntries([...resumeOffsets(records, t)].map(([p, o]) => [p, o.toString()])),
    ]),
  )
  return {
    files,
    offsets,
    nextSeq: nextSeq(records),
    commits: records.reduce((n, r) => n + (r.merged ?? 1), 0),
  }
}

/** The same view computed from every record ever committed (the model). */
function model(all: CommitRecord[], topics = ['t']) {
  const files = all.flatMap((r) => r.files.map((f) => `${f.path}:${f.rows}`)).sort()
  const offsets = Object.fromEntries(
    topics.map((t) => [t, Object.fromEntries([...resumeOffsets(all, t)].map(([p, o]) => [p, o.toString()]))]),
  )
  return { files, offsets, nextSeq: nextSeq(all), commits: all.length }
}

/** Counts readFile calls (the cost that matters over WebHDFS: one round trip each). */
function counting(inner: Lake): { lake: Lake; reads: () => number; reset: () => void } {
  let reads = 0
  const wrapped = Object.create(inner) as Lake
  wrapped.readFile = (p: string) => {
    reads++
    return inner.readFile(p)
  }
  return { lake: wrapped, reads: () => reads, reset: () => (reads = 0) }
}

const names = async (d: string) => (await lake.list(d)).map((e) => e.name).sort()

describe('writeCheckpoint', () => {
  it('merges every record: same files, offsets, next seq and commit count as the records', async () => {
    const all: CommitRecord[] = []
    for (let seq = 1; seq <= 12; seq++)
      all.push(await commit(lake, seq, { [seq % 3]: String(seq * 10) }, { files: 2 }))
    const before = await view(lake)
    expect(before).toEqual(model(all))

    const { checkpoint, deleted } = await writeCheckpoint(lake)
    expect(checkpoint?.seq).toBe(12)
    expect(checkpoint?.commitIds).toHaveLength(12)
    expect(checkpoint?.covers.commits).toHaveLength(12)
    expect(deleted).toEqual([]) // no older checkpoint yet: nothing is covered twice
    expect(await names(CHECKPOINTS_DIR)).toHaveLength(1)
    expect(await view(lake)).toEqual(before)

    // Readers now read the checkpoint only.
    const c = counting(lake)
    expect(await view(c.lake)).toEqual(before)
    expect(c.reads()).toBe(1)
  })

  it('is a no-op when nothing is new', async () => {
    expect((await writeCheckpoint(lake)).checkpoint).toBeUndefined()
    await commit(lake, 1, { 0: '5' })
    expect((await writeCheckpoint(lake)).checkpoint).toBeDefined()
    expect((await writeCheckpoint(lake)).checkpoint).toBeUndefined()
    expect(await names(CHECKPOINTS_DIR)).toHaveLength(1)
  })

  it('deletes only what an older checkpoint covers (one checkpoint of slack)', async () => {
    const all: CommitRecord[] = []
    const batch = async (n: number) => {
      for (let i = 0; i < n; i++) all.push(await commit(lake, nextSeq(all), { 0: String(all.length + 1) }))
    }
    const paths = (from: number, to: number) =>
      all.slice(from, to).map((r) => commitRecordPath(r.seq, r.commitId))
    await batch(5)
    const first = (await writeCheckpoint(lake)).checkpoint!
    expect(await names(COMMITS_DIR)).toHaveLength(5) // nothing older covers them yet
    await batch(5)
    const second = await writeCheckpoint(lake)
    // The records the first checkpoint covers go; the first checkpoint itself stays (the slack:
    // a reader that listed before the second one uses it and needs only the newer records).
    expect(second.deleted.sort()).toEqual(paths(0, 5))
    expect(await names(COMMITS_DIR)).toHaveLength(5)
    expect(await names(CHECKPOINTS_DIR)).toHaveLength(2)
    await batch(5)
    const third = await writeCheckpoint(lake)
    expect(third.deleted.sort()).toEqual(
      [...paths(5, 10), `${CHECKPOINTS_DIR}/${String(first.seq).padStart(20, '0')}-${first.id}.json`].sort(),
    )
    expect(await names(COMMITS_DIR)).toHaveLength(5)
    expect(await names(CHECKPOINTS_DIR)).toHaveLength(2)
    expect(await view(lake)).toEqual(model(all))
  })

  it('survives a crash between writing the checkpoint and deleting what it supersedes', async () => {
    const all: CommitRecord[] = []
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) all.push(await commit(lake, nextSeq(all), { [i]: String(all.length + 1) }))
      await writeCheckpoint(lake)
    }
    for (let i = 0; i < 4; i++) all.push(await commit(lake, nextSeq(all), { 7: String(all.length + 1) }))
    const commitsBefore = await names(COMMITS_DIR)
    await expect(
      writeCheckpoint(lake, {
        onWritten: () => {
          throw new Error('crash')
        },
      }),
    ).rejects.toThrow('crash')
    // Written, nothing deleted: readers see the state once (the union is idempotent).
    expect(await names(COMMITS_DIR)).toEqual(commitsBefore)
    expect(await view(lake)).toEqual(model(all))
    const c = counting(lake)
    await view(c.lake)
    expect(c.reads()).toBe(1) // the new checkpoint covers everything present
    // The next checkpoint (nothing new but two checkpoints to fold) does the deletions.
    all.push(await commit(lake, nextSeq(all), { 0: '999' }))
    expect((await writeCheckpoint(lake)).deleted.length).toBeGreaterThan(0)
    expect(await view(lake)).toEqual(model(all))
  })

  it('keeps a record a second writer commits later with a lower seq', async () => {
    const all: CommitRecord[] = []
    for (let seq = 1; seq <= 10; seq++) all.push(await commit(lake, seq, { 0: String(seq) }))
    await writeCheckpoint(lake)
    // Writer B started when the max seq was 3 and commits its seq 4 only now (partition 1).
    const late = await commit(lake, 4, { 1: '40' })
    all.push(late)
    expect(await view(lake)).toEqual(model(all))
    // Checkpoints and prunes keep it until a checkpoint names it, and after that inside them.
    for (let round = 0; round < 4; round++) {
      all.push(await commit(lake, nextSeq(all), { 0: String(100 + round) }))
      await writeCheckpoint(lake)
      expect(await view(lake)).toEqual(model(all))
    }
    expect(await lake.stat(commitRecordPath(4, late.commitId))).toBeUndefined() // pruned once covered twice
    expect((await view(lake)).offsets.t).toMatchObject({ 1: '40' })
  })

  it('rolls forward a merged record whose files are still staged, so recovery never needs it', async () => {
    const r = await commit(lake, 1, { 0: '3' })
    // Make it look like a writer that died after the commit point, before its roll-forward.
    const f = r.files[0]
    await lake.rename(f.path, stagedPath(r.commitId, f.path))
    expect(await listCommittedFiles(lake)).toEqual([])
    await writeCheckpoint(lake)
    expect((await listCommittedFiles(lake)).map((x) => x.path)).toEqual([f.path])
    expect(await lake.list(STAGING_DIR)).toEqual([])
    await commit(lake, 2, { 0: '4' })
    await writeCheckpoint(lake)
    await commit(lake, 3, { 0: '5' })
    await writeCheckpoint(lake) // prunes record 1
    const rec = await recover(lake)
    expect(rec.rolledBack).toEqual([])
    expect(resumeOffsets(rec.records, 't').get(0)).toBe(5n)
    expect(nextSeq(rec.records)).toBe(4)
  })
})

describe('readers', () => {
  it('start over when a listed file vanishes (a writer checkpointed and pruned meanwhile)', async () => {
    const all: CommitRecord[] = []
    for (let i = 0; i < 6; i++) all.push(await commit(lake, nextSeq(all), { 0: String(i + 1) }))
    await writeCheckpoint(lake)
    for (let i = 0; i < 6; i++) all.push(await commit(lake, nextSeq(all), { 1: String(i + 1) }))
    // Between this reader's listings and its reads, another writer checkpoints twice (pruning
    // the checkpoint and the records the reader listed).
    let interfered = 0
    const racing = Object.create(lake) as Lake
    racing.list = async (d: string) => {
      const out = await lake.list(d)
      if (d === CHECKPOINTS_DIR && interfered++ === 0) {
        all.push(await commit(lake, nextSeq(all), { 2: '1' }))
        await writeCheckpoint(lake)
        all.push(await commit(lake, nextSeq(all), { 2: '2' }))
        await writeCheckpoint(lake)
      }
      return out
    }
    const state = await readLakeState(racing)
    expect(interfered).toBeGreaterThanOrEqual(2) // it listed again
    expect(state.checkpoints).toHaveLength(1)
    expect(await view(racing)).toEqual(model(all))
  })

  it('give up with a clear error when the metadata keeps vanishing', async () => {
    await commit(lake, 1, { 0: '1' })
    const flaky = Object.create(lake) as Lake
    flaky.readFile = async () => {
      throw new Error('gone')
    }
    flaky.list = (d: string) => lake.list(d)
    flaky.stat = async () => undefined
    await expect(readLakeState(flaky, { attempts: 3 })).rejects.toThrow(/changed under 3 readings/)
  })

  it('a report after 500 commits (checkpoint every 50) reads a bounded number of files', async () => {
    const all: CommitRecord[] = []
    const every = 50
    for (let seq = 1; seq <= 500 + 17; seq++) {
      all.push(await commit(lake, seq, { [seq % 4]: String(seq) }, { files: 1 }))
      if (seq % every === 0) await writeCheckpoint(lake)
    }
    const c = counting(lake)
    const { snapshotLake } = await import('../../../src/lib/report/snapshot.js')
    const snap = await snapshotLake({ lake: c.lake, cacheDir: path.join(dir, 'cache') })
    // The newest checkpoint plus the 17 records after it, instead of 517 records.
    expect(c.reads()).toBe(1 + 17)
    expect(snap.commits).toBe(517)
    expect(snap.tables.reduce((n, t) => n + t.files.length, 0)).toBe(517)
    expect(snap.missing).toEqual([])
    // What stays in the lake is bounded too: the newest checkpoint's records and the ones after
    // it, the newest two checkpoints.
    expect(await names(COMMITS_DIR)).toHaveLength(every + 17)
    expect(await names(CHECKPOINTS_DIR)).toHaveLength(2)
    expect(await view(lake)).toEqual(model(all))
  })
})

describe('incremental checkpoints (deltaUpTo)', () => {
  it('a delta holds only the records since the last checkpoint; a full one every Kth; readers read at most K', async () => {
    const all: CommitRecord[] = []
    const every = 50
    const sizes: { delta: boolean; files: number; ids: number }[] = []
    for (let seq = 1; seq <= 800 + 17; seq++) {
      all.push(await commit(lake, seq, { [seq % 4]: String(seq) }, { files: 1 }))
      if (seq % every === 0) {
        const { checkpoint } = await writeCheckpoint(lake, { deltaUpTo: DELTA_CHECKPOINTS })
        const c = checkpoint!
        sizes.push({
          delta: c.covers.checkpoints.length === 0,
          files: c.files.length,
          ids: c.commitIds.length,
        })
      }
      if (seq % 7 === 0) expect(await view(lake)).toEqual(model(all))
    }
    // Deltas hold the 50 records since the previous checkpoint, whatever the lake's history; every
    // DELTA_CHECKPOINTS-th checkpoint is full (it holds everything, and covers the ones before).
    for (const [i, size] of sizes.entries()) {
      if (size.delta) expect(size).toEqual({ delta: true, files: every, ids: every })
      else expect(size.files).toBe((i + 1) * every)
    }
    expect(sizes.filter((x) => !x.delta).length).toBeGreaterThanOrEqual(1)
    expect(sizes.slice(0, DELTA_CHECKPOINTS).every((x) => x.delta)).toBe(true)
    const c = counting(lake)
    const { snapshotLake } = await import('../../../src/lib/report/snapshot.js')
    const snap = await snapshotLake({ lake: c.lake, cacheDir: path.join(dir, 'cache') })
    expect(c.reads()).toBeLessThanOrEqual(DELTA_CHECKPOINTS + 1 + 17)
    expect(snap.commits).toBe(817)
    expect(snap.tables.reduce((n, t) => n + t.files.length, 0)).toBe(817)
    expect(await view(lake)).toEqual(model(all))
  })
})

describe('readers racing writers', () => {
  it('every read while two writers commit, checkpoint and prune sees at least everything committed before it started', async () => {
    const done: CommitRecord[] = []
    const seqs = [1, 1]
    let writing = true
    let written = 0
    let wake: (() => void)[] = []
    const checkpointed = () => {
      written++
      const waiting = wake
      wake = []
      for (const w of waiting) w()
    }
    /** Resolves once the writers wrote n more checkpoints (or stopped). */
    const moreCheckpoints = (n: number) => {
      const target = written + n
      return new Promise<void>((resolve) => {
        const check = () => (written >= target || !writing ? resolve() : wake.push(check))
        check()
      })
    }
    const writer = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        done.push(await commit(lake, seqs[w]++, { [w]: String(i + 1) }, { files: 1 }))
        if (i % 3 === 2) {
          await writeCheckpoint(lake)
          checkpointed()
        }
      }
    }
    // Every other read stalls once, between its listings and its reads, until two more
    // checkpoints were written (and pruned what it listed): it must list again, not lose records.
    let reads = 0
    const reader = async () => {
      let stall = false
      const stalling = Object.create(lake) as Lake
      stalling.list = async (d: string) => {
        const out = await lake.list(d)
        if (d === CHECKPOINTS_DIR && stall) {
          stall = false
          await moreCheckpoints(2)
        }
        return out
      }
      for (let n = 0; writing; n++) {
        const before = model([...done])
        stall = n % 2 === 0
        const got = await view(stalling)
        for (const f of before.files) expect(got.files).toContain(f)
        for (const [p, o] of Object.entries(before.offsets.t)) {
          expect(BigInt(got.offsets.t[p] ?? -1)).toBeGreaterThanOrEqual(BigInt(o))
        }
        reads++
      }
    }
    const readers = [reader(), reader()]
    await Promise.all([writer(0), writer(1)])
    writing = false
    for (const w of wake.splice(0)) w()
    await Promise.all(readers)
    expect(reads).toBeGreaterThan(2)
    expect(await view(lake)).toEqual(model(done))
  })
})

/**
 * Random sequences of commits (several writers, lower seqs appearing late, several topics),
 * checkpoints (pruning or not, crashing before the prune, two writers at once): readers always
 * get what the records alone would give.
 */
async function property(target: Lake, seed: number, steps: number, deltas = false): Promise<void> {
  const random = rng(seed)
  // Incremental checkpoints: a delta while fewer than 1-4 checkpoints are live, else a full one.
  const mode = () => (deltas ? { deltaUpTo: 1 + Math.floor(random() * 4) } : {})
  const topics = ['t', 'u']
  const all: CommitRecord[] = []
  const writerSeq = [1, 1, 1]
  for (let step = 0; step < steps; step++) {
    const x = random()
    if (x < 0.6) {
      const w = Math.floor(random() * writerSeq.length)
      const seq = writerSeq[w]++
      const partition = Math.floor(random() * 4)
      const offset = String(Math.floor(random() * 1000))
      const topic = topics[Math.floor(random() * topics.length)]
      all.push(await commit(target, seq, { [partition]: offset }, { topic, files: Math.floor(random() * 3) }))
    } else if (x < 0.8) {
      await writeCheckpoint(target, { prune: random() < 0.85, ...mode() })
    } else if (x < 0.9) {
      await writeCheckpoint(target, {
        ...mode(),
        onWritten: () => {
          throw new Error('crash')
        },
      }).catch((error) => {
        if ((error as Error).message !== 'crash') throw error
      })
    } else {
      await Promise.all([writeCheckpoint(target, mode()), writeCheckpoint(target, mode())])
    }
    if (step % 5 === 4 || step === steps - 1) {
      const got = await view(target, topics)
      const want = model(all, topics)
      expect({ seed, step, ...got, nextSeq: 0 }).toEqual({ seed, step, ...want, nextSeq: 0 })
      // nextSeq: a checkpoint may carry a seq of a writer whose records are all merged.
      expect(got.nextSeq).toBe(want.nextSeq)
    }
  }
}

describe('property: with and without checkpoints readers get the same files and offsets', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`file:// lake, seed ${seed}`, async () => {
      await property(lake, seed, 60)
    })
  }

  for (const seed of [11, 12, 13, 14, 15, 16]) {
    it(`file:// lake with incremental (delta) checkpoints, seed ${seed}`, async () => {
      await property(lake, seed, 60, true)
    })
  }

  it('hdfs:// lake (embedded WebHDFS gateway), seed 7', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'game-checkpoint-hdfs-'))
    const gw = await startWebHdfsGateway({ port: 0, root, listBatchSize: 4 })
    try {
      await property(openLake(`hdfs://127.0.0.1:${gw.port}/lake`, { hdfsUser: 'game' }), 7, 40)
    } finally {
      await gw.close()
      await rm(root, { recursive: true, force: true })
    }
  })
})
