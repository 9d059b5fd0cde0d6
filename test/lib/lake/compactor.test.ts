import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listCommittedFiles, readCommitRecords } from '../../../src/lib/lake/commit.js'
import { partitionDue } from '../../../src/lib/lake/compactor.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { streamToLake } from '../../../src/lib/stream/stream.js'
import { readTable, type Stack, sampleEvents, startStack } from '../stream/fixtures.js'

describe('partitionDue', () => {
  it('a partition is due a day after its day ends, or past maxFiles', () => {
    const files = (n: number) => Array.from({ length: n }, () => ({}))
    const p = (dt: string, n: number) => ({ dt, files: files(n) as never[] })
    const day = 86_400_000
    const now = Date.parse('2026-11-30T12:00:00Z')
    expect(partitionDue(p('2026-11-28', 2), now, day, 100)).toBe(true)
    expect(partitionDue(p('2026-11-29', 2), now, day, 100)).toBe(false)
    expect(partitionDue(p('2026-11-30', 100), now, day, 100)).toBe(true)
    expect(partitionDue(p('2026-11-30', 99), now, day, 100)).toBe(false)
  })
})

describe('the stream compacts in the background', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => {
    await stack?.close()
  })

  it('compacts a partition past maxFiles while streaming; totals stay exact', async () => {
    const topic = 'bg-compact'
    await stack.createTopic(topic, 1)
    const lake = openLake(`${stack.lakeUrl}/${topic}`, { hdfsUser: 'game' })
    const controller = new AbortController()
    const warnings: string[] = []
    const run = streamToLake(
      {
        topic,
        group: 'g',
        brokers: stack.brokers,
        intervalMs: 100,
        maxRows: 100_000,
        maxBytes: 64 * 1024 * 1024,
        once: false,
        fromBeginning: true,
        stagingGraceMs: 0,
        checkpointEvery: 0,
        upkeep: {
          checkEveryMs: 0,
          maxFiles: 4,
          closedAfterMs: Number.MAX_SAFE_INTEGER / 2,
          onWarning: (w) => warnings.push(w),
        },
      },
      { kafka: stack.kafka('bg'), lake },
      controller.signal,
    )
    const landed = async () =>
      (await readCommitRecords(lake)).reduce((a, r) => Math.max(a, Number(r.offsets['0'] ?? 0)), 0)
    const until = async (what: string, check: () => Promise<boolean>) => {
      const deadline = Date.now() + 60_000
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const rounds = 6
    for (let i = 0; i < rounds; i++) {
      await stack.produce(topic, sampleEvents(1, i))
      await until(`round ${i}`, async () => (await landed()) === (i + 1) * 7)
    }
    await until('transactions compacted', async () =>
      (await readCommitRecords(lake)).some(
        (r) => r.kind === 'compaction' && r.files.some((f) => f.table === 'transactions'),
      ),
    )
    controller.abort()
    const result = await run
    expect(result.events).toBe(rounds * 7)
    expect(warnings).toEqual([])
    const tx = await readTable(lake, 'transactions')
    expect(tx).toHaveLength(rounds * 3)
    expect(new Set(tx.map((r) => r.event_id)).size).toBe(rounds * 3)
    // Each flush adds two transactions files (purchases and add_money rows); a compaction merged some.
    const flushed = (await readCommitRecords(lake))
      .filter((r) => r.kind === undefined)
      .reduce((a, r) => a + r.files.filter((f) => f.table === 'transactions').length, 0)
    expect((await listCommittedFiles(lake, 'transactions')).length).toBeLessThan(flushed)
  }, 120_000)
})
