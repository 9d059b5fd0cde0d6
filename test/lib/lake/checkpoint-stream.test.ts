import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCommitRecords, readLakeState } from '../../../src/lib/lake/commit.js'
import { CHECKPOINTS_DIR, COMMITS_DIR, resumeOffsets, STAGING_DIR } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { streamStatus } from '../../../src/lib/stream/status.js'
import { type StreamOptions, streamToLake } from '../../../src/lib/stream/stream.js'
import { readTable, type Stack, sampleEvents, startStack } from '../stream/fixtures.js'

/** The stream with checkpoints every few flushes, against the embedded broker and a WebHDFS lake. */

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.close()
})

const lakeOf = (topic: string) => openLake(`${stack.lakeUrl}/${topic}`, { hdfsUser: 'game' })

const base = (topic: string, over: Partial<StreamOptions> = {}): StreamOptions => ({
  topic,
  group: `g-${topic}`,
  intervalMs: 60_000,
  maxRows: 12,
  maxBytes: 64 * 1024 * 1024,
  once: true,
  fromBeginning: true,
  stagingGraceMs: 0,
  brokers: stack.brokers,
  checkpointEvery: 3,
  ...over,
})

describe('stream checkpoints', () => {
  it('writes a checkpoint every K commits (across --once runs), prunes, and lands every event exactly once', async () => {
    const topic = 'checkpointed'
    await stack.createTopic(topic, 2)
    const lake = lakeOf(topic)
    const runs = 10
    let events = 0
    for (let run = 0; run < runs; run++) {
      await stack.produce(topic, sampleEvents(1, run))
      const r = await streamToLake(base(topic), { kafka: stack.kafka(`c${run}`), lake })
      expect(r.stoppedBy).toBe('caught-up')
      expect(r.flushes).toBe(1)
      expect(r.warnings.filter((w) => /checkpoint/i.test(w))).toEqual([])
      events += r.events
      // K = 3: a checkpoint after the 3rd, 6th and 9th commit, counted across runs. Each is a delta
      // (incremental: the 3 records since the last one), so they stay live side by side.
      expect((await readLakeState(lake)).checkpoints.length, `run ${run}`).toBe(Math.floor((run + 1) / 3))
    }
    expect(events).toBe(runs * 7)
    // Three delta checkpoints written, each holding only its 3 records (not the whole state); all
    // three stay live (no full checkpoint covers them yet). The records the newest covers (3) and
    // the one after it stay; the 6 older records are pruned.
    expect(await lake.list(CHECKPOINTS_DIR)).toHaveLength(3)
    expect(await lake.list(COMMITS_DIR)).toHaveLength(4)
    const state = await readLakeState(lake)
    expect(state.checkpoints.map((c) => c.commitIds.length)).toEqual([3, 3, 3])
    expect(state.checkpoints.map((c) => c.covers.checkpoints)).toEqual([[], [], []])
    expect(state.records).toHaveLength(1)
    expect(await lake.list(STAGING_DIR)).toEqual([])
    // `game stream status` counts the commits a checkpoint merged, not only the records left.
    const status = await streamStatus({ topic, group: base(topic).group }, { kafka: stack.kafka('st'), lake })
    expect(status.commits).toBe(runs)
    expect(status.tables.find((t) => t.table === 'transactions')?.rows).toBe(runs * 3)

    const tx = await readTable(lake, 'transactions')
    expect(tx).toHaveLength(runs * 3)
    expect(new Set(tx.map((r) => r.event_id)).size).toBe(runs * 3)
    const offsets = resumeOffsets(await readCommitRecords(lake), topic)
    expect([...offsets.values()].reduce((a, o) => a + o, 0n)).toBe(BigInt(events))

    // A run with several flushes resumes from checkpoint + record: nothing twice, the new once.
    await stack.produce(topic, sampleEvents(20, runs))
    const big = await streamToLake(base(topic), { kafka: stack.kafka('big'), lake })
    expect(big.events).toBe(20 * 7)
    const tx2 = await readTable(lake, 'transactions')
    expect(tx2).toHaveLength((runs + 20) * 3)
    expect(new Set(tx2.map((r) => r.event_id)).size).toBe((runs + 20) * 3)
  })
})
