import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { routeMessage } from '../../../src/lib/events/route.js'
import { claimRange } from '../../../src/lib/lake/claims.js'
import { readCommitRecords } from '../../../src/lib/lake/commit.js'
import { claimPath, resumeOffsets } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { createParquetWriter, type ParquetWriter } from '../../../src/lib/lake/parquet.js'
import type { Lake } from '../../../src/lib/lake/types.js'
import { RowBuffer } from '../../../src/lib/stream/buffer.js'
import { Flusher, type FlusherContext } from '../../../src/lib/stream/flusher.js'
import { OffsetTracker } from '../../../src/lib/stream/offsets.js'
import { addRows } from '../../helpers/rows.js'

let dir: string
let writer: Promise<ParquetWriter>
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-flusher-'))
  writer = createParquetWriter()
})
afterAll(async () => {
  ;(await writer).close()
  await rm(dir, { recursive: true, force: true })
})

interface Harness {
  flusher: Flusher
  lake: Lake
  lakeRoot: string
  tracker: OffsetTracker
  buffer: RowBuffer
  events: string[]
  warnings: string[]
  rewound: number[][]
  add(partition: number, offset: number): void
}

let n = 0
let h: Harness
beforeEach(async () => {
  n += 1
  const lakeRoot = path.join(dir, `lake-${n}`)
  const lake = openLake(pathToFileURL(lakeRoot).href, { hdfsUser: 'game' })
  const scratch = path.join(dir, `scratch-${n}`)
  const tracker = new OffsetTracker()
  const buffer = new RowBuffer(path.join(scratch, 'buffer'))
  const events: string[] = []
  const warnings: string[] = []
  const rewound: number[][] = []
  const ctx: FlusherContext = {
    topic: 't',
    group: 'g',
    lake,
    now: () => Date.now(),
    scratch,
    buffer,
    tracker,
    parquet: writer,
    commitOffsets: async (offsets) => {
      // The Kafka commit comes after the lake commit: the record is already there.
      const lakeNow = resumeOffsets(await readCommitRecords(lake), 't')
      events.push(
        `kafka-commit ${JSON.stringify(offsets)} lake=${JSON.stringify(Object.fromEntries([...lakeNow].map(([p, o]) => [p, String(o)])))}`,
      )
    },
    limits: { intervalMs: 60_000, maxRows: 1000, maxBytes: 1 << 20 },
    seq: 1,
    checkpointEvery: 0,
    sinceCheckpoint: 0,
    claimLeaseMs: 10_000,
    stagingGraceMs: 60_000,
    rebalancing: () => false,
    failed: () => false,
    onFailure: (error) => events.push(`failure ${(error as Error).message}`),
    warn: (m) => warnings.push(m),
    crashHook: () => undefined,
    rewind: (parts) => rewound.push(parts),
  }
  const add = (partition: number, offset: number) => {
    const meta = { topic: 't', partition, offset: String(offset), timestamp: Date.UTC(2026, 10, 28) }
    addRows(
      buffer,
      partition,
      routeMessage(JSON.stringify({ event_type: 'join_guild', guild_name: `g${offset}` }), meta).rows,
      offset,
    )
    tracker.accept(partition, BigInt(offset))
  }
  h = { flusher: new Flusher(ctx), lake, lakeRoot, tracker, buffer, events, warnings, rewound, add }
})

const bigint = (o: Record<string, string>) => JSON.stringify(o)

describe('Flusher', () => {
  it('publishes the rows with the offsets they cover, then commits the offsets to Kafka', async () => {
    h.add(0, 0)
    h.add(0, 1)
    h.add(1, 0)
    await h.flusher.flush('max-rows')
    const records = await readCommitRecords(h.lake)
    expect(records).toHaveLength(1)
    expect(h.warnings).toEqual([])
    expect(records[0].offsets).toEqual({ 0: '2', 1: '1' })
    expect(records[0].files.map((f) => `${f.table}:${f.rows}`)).toEqual(['guild_membership:3'])
    expect(h.events).toEqual([`kafka-commit ${bigint({ 0: '2', 1: '1' })} lake={"0":"2","1":"1"}`])
    expect(h.flusher.published.guild_membership).toBe(3)
    expect(h.tracker.committedOffset(0)).toBe(2n)
    // The claims it took: base `init` for both partitions (the lake had no offset for them).
    expect(await h.lake.stat(claimPath('t', 0, 'init', 0))).toBeDefined()
    expect(await h.lake.stat(claimPath('t', 1, 'init', 0))).toBeDefined()
  })

  it('publishes nothing when another writer holds a claim, rewinds, and publishes once the claim is an orphan', async () => {
    h.add(0, 0)
    h.add(1, 0)
    const other = (await claimRange(
      h.lake,
      { topic: 't', partition: 1, base: undefined, commitId: 'other' },
      { leaseMs: 10_000, now: () => Date.now(), lakeResume: async () => undefined },
    )) as string
    await h.flusher.flush('max-rows')
    expect(await readCommitRecords(h.lake)).toEqual([])
    expect(h.events).toEqual([])
    expect(h.rewound).toEqual([[0, 1]])
    expect(h.warnings.join('\n')).toContain('Partition 1: another writer claimed the range first')
    // Reset to the lake's offsets (none), the claim it won for partition 0 released, no staging left.
    expect(h.tracker.nextOffset(0)).toBeUndefined()
    expect(await h.lake.stat(claimPath('t', 0, 'init', 0))).toBeUndefined()
    expect(await readdir(path.join(h.lakeRoot, '_game', 'staging')).catch(() => [])).toEqual([])
    // The other writer died: its claim outlives the lease. Read again from the lake's offsets and flush.
    const old = new Date(Date.now() - 60_000)
    await utimes(path.join(h.lakeRoot, other), old, old)
    h.add(0, 0)
    h.add(1, 0)
    await h.flusher.flush('max-rows')
    const records = await readCommitRecords(h.lake)
    expect(records.map((r) => r.offsets)).toEqual([{ 0: '1', 1: '1' }])
    expect(await h.lake.stat(claimPath('t', 1, 'init', 1))).toBeDefined()
  })

  it('a final flush overlapping the one before publishes after it, in order, only what is new', async () => {
    for (let o = 0; o < 50; o++) h.add(0, o)
    const first = h.flusher.flush('max-rows')
    while (!h.flusher.writing) await new Promise((r) => setImmediate(r))
    await h.flusher.written
    for (let o = 50; o < 60; o++) h.add(0, o)
    await h.flusher.flush('final', true)
    await first
    const records = (await readCommitRecords(h.lake)).sort((a, b) => a.seq - b.seq)
    expect(records.map((r) => [r.seq, r.offsets['0'], r.files[0]?.rows])).toEqual([
      [1, '50', 50],
      [2, '60', 10],
    ])
    expect(h.events.map((e) => e.split(' ')[1])).toEqual(['{"0":"50"}', '{"0":"60"}'])
  })

  it('leaves out rows another writer published after the assignment (first flush checks the lake)', async () => {
    // Another writer published partition 0 up to offset 3 (claiming base init).
    const other = new Flusher({
      ...(h.flusher as unknown as { ctx: FlusherContext }).ctx,
      tracker: new OffsetTracker(),
      buffer: new RowBuffer(path.join(dir, `other-${n}`)),
      seq: 10,
    })
    h.flusher.verify(0, undefined)
    for (let o = 0; o < 5; o++) h.add(0, o)
    const ctxOther = (other as unknown as { ctx: FlusherContext }).ctx
    for (let o = 0; o < 3; o++) {
      const meta = { topic: 't', partition: 0, offset: String(o), timestamp: Date.UTC(2026, 10, 28) }
      addRows(
        ctxOther.buffer,
        0,
        routeMessage(JSON.stringify({ event_type: 'join_guild', guild_name: `g${o}` }), meta).rows,
        o,
      )
      ctxOther.tracker.accept(0, BigInt(o))
    }
    await other.flush('max-rows')
    await h.flusher.flush('max-rows')
    const records = (await readCommitRecords(h.lake)).sort(
      (a, b) => Number(a.offsets['0']) - Number(b.offsets['0']),
    )
    expect(records.map((r) => [r.offsets['0'], r.files[0]?.rows])).toEqual([
      ['3', 3],
      ['5', 2],
    ])
    expect(h.warnings.join('\n')).toContain('rows below offset 3 were published by another writer')
  })
})
