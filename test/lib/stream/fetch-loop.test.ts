import { describe, expect, it } from 'vitest'
import type { GameError } from '../../../src/lib/errors.js'
import {
  type FetchedPartition,
  forEachRecord,
  type LeanFetcher,
} from '../../../src/lib/kafka/lean-fetcher.js'
import { encodeRecordBatch } from '../../../src/lib/kafka/lean-producer.js'
import { KafkaRequestError, NETWORK } from '../../../src/lib/kafka/wire.js'
import { FETCH_GIVE_UP_MS, type FetchLoopContext, runFetchLoop } from '../../../src/lib/stream/fetch-loop.js'

/** A batch of `count` records at `base` (values v<offset>). */
function batch(base: number, count: number): Buffer {
  const b = encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({ key: null, value: `v${base + i}` })),
    Date.UTC(2026, 10, 28),
  )
  b.writeBigInt64BE(BigInt(base), 0)
  return b
}

const ok = (partition: number, fetchOffset: number, records: Buffer): FetchedPartition => ({
  partition,
  errorCode: 0,
  fetchOffset,
  highWatermark: 100,
  records,
  aborted: null,
})
const failed = (partition: number, fetchOffset: number, code: number, error: Error): FetchedPartition => ({
  partition,
  errorCode: code,
  fetchOffset,
  highWatermark: -1,
  records: null,
  aborted: null,
  error,
})

/** A fetcher that answers each fetch with the next scripted response (and records what was asked). */
function scripted(responses: ((positions: ReadonlyMap<number, number>) => FetchedPartition[])[]) {
  const asked: string[] = []
  const fetcher: LeanFetcher = {
    async fetch(positions) {
      asked.push(JSON.stringify([...positions]))
      const next = responses.shift()
      if (!next) return new Promise<FetchedPartition[]>(() => undefined) // never answers: the loop ends by live()
      return next(positions)
    },
    async listOffsets(partitions, which) {
      return new Map(partitions.map((p) => [p, which === 'earliest' ? 10 : 50]))
    },
    async topicId() {
      return undefined
    },
    invalidate() {},
    close() {},
  }
  return { fetcher, asked }
}

function context(fetcher: LeanFetcher, over: Partial<FetchLoopContext> = {}) {
  const taken: string[] = []
  const warnings: string[] = []
  let stopAfter = Number.POSITIVE_INFINITY
  let rounds = 0
  const ctx: FetchLoopContext = {
    topic: 't',
    fetcher,
    now: () => Date.now(),
    positions: new Map([[0, 0]]),
    rewinds: new Map(),
    live: () => rounds < stopAfter,
    take: (f) => {
      forEachRecord(
        f.records as Buffer,
        f.fetchOffset,
        (offset, _ts, buf, start, end) =>
          taken.push(`${f.partition}@${offset}=${buf.toString('utf8', start, end)}`),
        null,
        () => undefined,
      )
    },
    afterFetch: async () => {
      rounds += 1
    },
    accepted: () => undefined,
    warn: (m) => warnings.push(m),
    sleep: async () => undefined,
    ...over,
  }
  return { ctx, taken, warnings, stop: (n: number) => (stopAfter = n) }
}

describe('runFetchLoop', () => {
  it('routes the records and sends the next fetch from the batch headers before routing', async () => {
    const { fetcher, asked } = scripted([() => [ok(0, 0, batch(0, 3))], () => [ok(0, 3, batch(3, 2))]])
    const c = context(fetcher)
    c.stop(2)
    await runFetchLoop(c.ctx, [0])
    expect(c.taken).toEqual(['0@0=v0', '0@1=v1', '0@2=v2', '0@3=v3', '0@4=v4'])
    // The third fetch (from 5) went out before the second response was routed.
    expect(asked).toEqual(['[[0,0]]', '[[0,3]]', '[[0,5]]'])
    expect(c.ctx.positions.get(0)).toBe(5)
  })

  it('resumes at the log start, with a warning, when the offset is below it', async () => {
    const { fetcher, asked } = scripted([
      () => [failed(0, 0, 1, new KafkaRequestError('out of range', 1, false))],
      () => [ok(0, 10, batch(10, 1))],
    ])
    const c = context(fetcher)
    c.stop(2)
    await runFetchLoop(c.ctx, [0])
    expect(asked.slice(0, 2)).toEqual(['[[0,0]]', '[[0,10]]'])
    expect(c.warnings).toEqual([
      "Partition 0: offset 0 is below Kafka's log start (deleted by retention); resumed at 10",
    ])
    expect(c.taken).toEqual(['0@10=v10'])
  })

  it('drops a response to a fetch sent before the partition was moved back (a lost claim)', async () => {
    let ctxRef: FetchLoopContext | undefined
    const { fetcher, asked } = scripted([
      () => {
        // While this fetch is out, the job rewinds partition 0 to offset 1.
        ctxRef?.positions.set(0, 1)
        ctxRef?.rewinds.set(0, 1)
        return [ok(0, 0, batch(0, 3))]
      },
      () => [ok(0, 1, batch(1, 2))],
    ])
    const c = context(fetcher)
    ctxRef = c.ctx
    c.stop(2)
    await runFetchLoop(c.ctx, [0])
    expect(asked.slice(0, 2)).toEqual(['[[0,0]]', '[[0,1]]'])
    expect(c.taken).toEqual(['0@1=v1', '0@2=v2'])
  })

  it('backs off on retriable errors and gives up after the give-up time with UNREACHABLE', async () => {
    let now = 0
    const down = () => [failed(0, 0, NETWORK, new KafkaRequestError('connection refused', NETWORK, true))]
    const { fetcher } = scripted(Array.from({ length: 100 }, () => down))
    const c = context(fetcher, {
      now: () => now,
      sleep: async (ms) => {
        now += ms * 20
      },
    })
    const error = (await runFetchLoop(c.ctx, [0]).catch((e) => e)) as GameError
    expect(error.code).toBe('UNREACHABLE')
    expect(now).toBeGreaterThan(FETCH_GIVE_UP_MS)
    expect(c.taken).toEqual([])
  })
})
