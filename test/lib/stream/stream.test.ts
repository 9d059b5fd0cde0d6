import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TABLE_NAMES } from '../../../src/lib/events/catalog.js'
import { publish, readCommitRecords, writeCheckpoint } from '../../../src/lib/lake/commit.js'
import { COMMITS_DIR, STAGING_DIR } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { streamStatus } from '../../../src/lib/stream/status.js'
import { type StreamOptions, type StreamProgress, streamToLake } from '../../../src/lib/stream/stream.js'
import {
  BAD_EVENTS,
  duckQuery,
  readTable,
  SEED_EVENTS,
  type Stack,
  sampleEvents,
  startStack,
} from './fixtures.js'

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.close()
})

/** Rewrites a lake's commit records as a version without topic ids wrote them. */
async function stripTopicIds(name: string): Promise<void> {
  const lake = lakeOf(name)
  for (const e of await lake.list(COMMITS_DIR)) {
    const r = JSON.parse((await lake.readFile(e.path)).toString('utf8'))
    delete r.topicId
    await lake.writeFile(e.path, JSON.stringify(r), { overwrite: true })
  }
}

/** Each test its own lake directory on the gateway. */
const lakeOf = (topic: string) => openLake(`${stack.lakeUrl}/${topic}`, { hdfsUser: 'game' })

const base = (topic: string, over: Partial<StreamOptions> = {}): StreamOptions => ({
  topic,
  group: `g-${topic}`,
  intervalMs: 60_000,
  maxRows: 100_000,
  maxBytes: 64 * 1024 * 1024,
  once: true,
  fromBeginning: true,
  stagingGraceMs: 0,
  brokers: stack.brokers,
  ...over,
})

describe('streamToLake', () => {
  it('lands every event type, seed-format events and rejects in their tables, exactly once across runs', async () => {
    const topic = 'events-all'
    await stack.createTopic(topic, 3)
    const rounds = 5
    await stack.produce(topic, sampleEvents(rounds))
    await stack.produce(
      topic,
      SEED_EVENTS.map((value) => ({ value })),
    )
    await stack.produce(
      topic,
      BAD_EVENTS.map((b) => ({ value: b.value })),
    )
    const total = rounds * 7 + SEED_EVENTS.length + BAD_EVENTS.length

    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('s1'), lake: lakeOf(topic) })
    expect(r1.stoppedBy).toBe('caught-up')
    expect(r1.events).toBe(total)
    expect(r1.rejected).toBe(BAD_EVENTS.length)
    expect(r1.rows.purchases).toBe(rounds * 2 + 1)
    expect(r1.rows.transactions).toBe(rounds * 3 + 2)
    expect(r1.rows.add_money).toBe(rounds + 1)
    expect(r1.rows.guild_membership).toBe(rounds + 1)
    expect(r1.rows.cancel_membership).toBe(rounds)
    expect(r1.rows.messages).toBe(rounds)
    expect(r1.rows.rejected).toBe(BAD_EVENTS.length)
    expect(Object.values(r1.offsets).reduce((a, o) => a + Number(o), 0)).toBe(total)
    expect(await lakeOf(topic).list(STAGING_DIR)).toEqual([])

    // Read back with hyparquet: values and columns per table.
    const tx = await readTable(lakeOf(topic), 'transactions')
    expect(tx).toHaveLength(rounds * 3 + 2)
    expect(Object.keys(tx[0])).toEqual([
      'raw_event',
      'timestamp',
      'Accept',
      'Host',
      'User-Agent',
      'event_type',
      'amount',
      'description',
      'event_id',
      'dt',
    ])
    const seedSword = tx.find((r) => r.description === 'very sharp sword')
    expect(seedSword).toMatchObject({ amount: -10n, Host: 'user1.comcast.com', event_type: 'purchase_sword' })
    expect(seedSword?.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/)
    const sum = tx.reduce((a, r) => a + (r.amount as bigint), 0n)
    const expected = BigInt(rounds * -20 + (rounds * 100 + (rounds * (rounds - 1)) / 2) - 10 + 50)
    expect(sum).toBe(expected)
    const apiSword = tx.find((r) => r.description === 'big')
    expect(apiSword?.timestamp).toBeInstanceOf(Date)
    expect(apiSword?.dt).toBe('2026-11-28')

    const rejected = await readTable(lakeOf(topic), 'rejected')
    expect(rejected).toHaveLength(BAD_EVENTS.length)
    for (const bad of BAD_EVENTS) {
      const row = rejected.find((r) => r.raw_event === bad.value)
      expect(row?.reason, String(bad.value)).toMatch(bad.reason)
      expect(row?.kafka_topic).toBe(topic)
    }
    const msgs = await readTable(lakeOf(topic), 'messages')
    expect(msgs.map((m) => m.message_post).sort()).toEqual(
      Array.from({ length: rounds }, (_, i) => `hola ${i}`).sort(),
    )

    // DuckDB over the Hive-partitioned tree as Spark would see it.
    const root = path.join(stack.dir, 'hdfs', 'tmp', topic)
    const [duck] = await duckQuery(
      `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids, sum(amount)::VARCHAR AS s, min(dt)::VARCHAR AS dt FROM read_parquet('${root}/transactions/*/*.parquet', hive_partitioning = true)`,
    )
    expect(duck).toEqual({ n: rounds * 3 + 2, ids: rounds * 3 + 2, s: expected.toString(), dt: '2026-11-28' })

    // A second run with nothing new adds nothing; new events land once.
    const r2 = await streamToLake(base(topic), { kafka: stack.kafka('s2'), lake: lakeOf(topic) })
    expect(r2.events).toBe(0)
    expect(r2.flushes).toBe(0)
    await stack.produce(topic, sampleEvents(1, rounds))
    const r3 = await streamToLake(base(topic), { kafka: stack.kafka('s3'), lake: lakeOf(topic) })
    expect(r3.events).toBe(7)
    expect((await readTable(lakeOf(topic), 'transactions')).length).toBe(rounds * 3 + 2 + 3)

    // Status agrees with the lake and Kafka.
    const status = await streamStatus(
      { topic, group: `g-${topic}` },
      { kafka: stack.kafka('st'), lake: lakeOf(topic) },
    )
    expect(status.partitions.map((p) => p.lag)).toEqual([0, 0, 0])
    expect(status.partitions.reduce((a, p) => a + Number(p.lakeOffset), 0)).toBe(total + 7)
    expect(status.partitions.reduce((a, p) => a + Number(p.groupOffset), 0)).toBe(total + 7)
    const txStatus = status.tables.find((t) => t.table === 'transactions')
    expect(txStatus?.rows).toBe(rounds * 3 + 2 + 3)
    expect(txStatus?.lastCommitAt).not.toBeNull()
    expect(status.tables.map((t) => t.table)).toEqual([...TABLE_NAMES])
  })

  it('resumes from the lake even when the consumer group is behind it', async () => {
    const topic = 'events-resume'
    await stack.createTopic(topic, 2)
    await stack.produce(topic, sampleEvents(3))
    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('a'), lake: lakeOf(topic) })
    expect(r1.events).toBe(21)
    // Move the group back to the start: the lake's commit records must win.
    const admin = stack.kafka('admin').admin()
    await admin.connect()
    await admin.setOffsets({
      groupId: `g-${topic}`,
      topic,
      partitions: [
        { partition: 0, offset: '0' },
        { partition: 1, offset: '0' },
      ],
    })
    await admin.disconnect()
    await stack.produce(topic, sampleEvents(1, 3))
    const r2 = await streamToLake(base(topic), { kafka: stack.kafka('b'), lake: lakeOf(topic) })
    expect(r2.events).toBe(7)
    const rows = await readTable(lakeOf(topic), 'guild_membership')
    expect(rows).toHaveLength(4)
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(4)
  })

  it('without from-beginning, a partition the lake has no offset for starts at the group offset, else at the end', async () => {
    const topic = 'events-no-begin'
    await stack.createTopic(topic, 2)
    await stack.produce(topic, sampleEvents(10))
    const admin = stack.kafka('admin-nb').admin()
    await admin.connect()
    const endsOf = async () =>
      new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]))
    const ends = await endsOf()
    expect(Math.min(...ends.values())).toBeGreaterThan(2)
    // The group is 2 behind on partition 0 and has no offset for partition 1.
    await admin.setOffsets({
      groupId: `g-${topic}`,
      topic,
      partitions: [{ partition: 0, offset: String((ends.get(0) ?? 0) - 2) }],
    })
    const r = await streamToLake(base(topic, { fromBeginning: false }), {
      kafka: stack.kafka('nb'),
      lake: lakeOf(topic),
    })
    expect(r.events).toBe(2)
    expect(r.offsets).toEqual({ '0': String(ends.get(0)) })
    // Next run: partition 0 resumes from the lake; partition 1 (no lake or group offset) starts at
    // the end it sees at start, so what was produced before that run is not read.
    await stack.produce(topic, sampleEvents(10, 10))
    const after = await endsOf()
    await admin.disconnect()
    const r2 = await streamToLake(base(topic, { fromBeginning: false }), {
      kafka: stack.kafka('nb2'),
      lake: lakeOf(topic),
    })
    expect(after.get(1)).toBeGreaterThan(ends.get(1) ?? 0)
    expect(r2.events).toBe((after.get(0) ?? 0) - (ends.get(0) ?? 0))
  })

  it('resumes at the log start, with a warning, when retention deleted events it had not read', async () => {
    const topic = 'events-retention'
    const admin = stack.kafka('admin-ret').admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.bytes', value: '3000' }] }],
      waitForLeaders: true,
    })
    // One batch per send (7 events, ~2 KB), so retention drops whole sends.
    await stack.produce(topic, sampleEvents(1))
    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('ret1'), lake: lakeOf(topic) })
    expect(r1.events).toBe(7)
    for (let i = 1; i <= 4; i++) await stack.produce(topic, sampleEvents(1, i))
    const [{ low, high }] = await admin.fetchTopicOffsets(topic)
    await admin.disconnect()
    // The lake resumes at 7, which retention deleted.
    expect(Number(low)).toBeGreaterThan(7)
    const r2 = await streamToLake(base(topic), { kafka: stack.kafka('ret2'), lake: lakeOf(topic) })
    expect(r2.events).toBe(Number(high) - Number(low))
    expect(r2.offsets).toEqual({ '0': String(high) })
    expect(r2.warnings.join('\n')).toMatch(/offset 7 is below Kafka's log start/)
  })

  it("resumes at the end, with a warning, when only the group's offset is past the topic's end", async () => {
    const topic = 'events-group-ahead'
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(1))
    const group = `g-${topic}`
    const admin = stack.kafka('admin-ga').admin()
    await admin.connect()
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '50' }] })
    await admin.disconnect()
    const controller = new AbortController()
    const progress: StreamProgress[] = []
    const running = streamToLake(
      base(topic, { once: false, intervalMs: 300, fromBeginning: false }),
      { kafka: stack.kafka('ga'), lake: lakeOf(topic), onProgress: (p) => progress.push(p) },
      controller.signal,
    )
    const deadline = Date.now() + 20_000
    while (!progress.some((p) => p.assigned.length === 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    // The fetch at 50 is out of range: the stream resets to the end (7), says so while running,
    // then reads what comes next.
    while (!progress.some((p) => p.warnings.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(progress.at(-1)?.warnings.join('\n')).toMatch(/group's offset 50 is past Kafka's end/)
    await stack.produce(topic, sampleEvents(1, 1))
    while (Date.now() < deadline) {
      const recs = await readCommitRecords(lakeOf(topic))
      if (recs.some((r) => r.offsets['0'] === '14')) break
      await new Promise((r) => setTimeout(r, 25))
    }
    controller.abort()
    const result = await running
    expect(result.warnings.join('\n')).toMatch(
      /the group's offset 50 is past Kafka's end; resumed at the end, 7/,
    )
    expect(result.events).toBe(7)
    expect(result.offsets).toEqual({ '0': '14' })
  })

  it('stops with a hint, skipping nothing, when the topic was recreated behind a lake that names no topic id', async () => {
    const topic = 'events-recreated'
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(2))
    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('rec1'), lake: lakeOf(topic) })
    expect(r1.offsets).toEqual({ '0': '14' })
    // A lake written before commit records carried topic ids: nothing tells the two topics apart.
    await stripTopicIds(topic)
    const admin = stack.kafka('admin-rec').admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic] })
    await admin.disconnect()
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(1, 100))
    const before = await readCommitRecords(lakeOf(topic))
    for (const once of [true, false]) {
      const error = await streamToLake(base(topic, { once }), {
        kafka: stack.kafka(`rec2-${once}`),
        lake: lakeOf(topic),
      }).catch((e) => e)
      expect(error).toMatchObject({ code: 'LAKE_AHEAD_OF_KAFKA' })
      expect(error.message).toMatch(
        /Partition 0 of events-recreated ends at offset 7, but the lake already holds its events up to offset 14/,
      )
      expect(error.hint).toMatch(/new lake path/)
    }
    expect(await readCommitRecords(lakeOf(topic))).toHaveLength(before.length)
  })

  it('carries on from the new topic start, and says so, when the topic was recreated (its id changed)', async () => {
    const topic = 'events-reborn'
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(2))
    const r1 = await streamToLake(base(topic), { kafka: stack.kafka('reb1'), lake: lakeOf(topic) })
    expect(r1.offsets).toEqual({ '0': '14' })
    const [first] = await readCommitRecords(lakeOf(topic))
    expect(first.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    const admin = stack.kafka('admin-reb').admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic] })
    await admin.disconnect()
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(1, 100))
    // Below the old topic's end too (7 < 14): offsets alone could not tell; the id does.
    const r2 = await streamToLake(base(topic), { kafka: stack.kafka('reb2'), lake: lakeOf(topic) })
    expect(r2.events).toBe(7)
    expect(r2.offsets).toEqual({ '0': '7' })
    expect(r2.warnings.join('\n')).toMatch(
      /Topic events-reborn was deleted and created again since the lake was written \(topic id \S+ → \S+\): partition 0 starts at the new topic's start/,
    )
    const records = await readCommitRecords(lakeOf(topic))
    expect(new Set(records.map((r) => r.topicId)).size).toBe(2)
    // `stream status` shows the new topic's offsets, from the records and after a checkpoint that
    // merged both topics' records (not the max of the two).
    const lakeOffsets = async () =>
      (await streamStatus({ topic, group: 'g' }, { lake: lakeOf(topic) })).partitions.map((p) => p.lakeOffset)
    expect(await lakeOffsets()).toEqual(['7'])
    await writeCheckpoint(lakeOf(topic))
    expect(await lakeOffsets()).toEqual(['7'])
    // Both topics' rows are in the lake, each once; a rerun adds nothing and says nothing.
    const r3 = await streamToLake(base(topic), { kafka: stack.kafka('reb3'), lake: lakeOf(topic) })
    expect(r3.events).toBe(0)
    expect(r3.warnings).toEqual([])
    const messages = await readTable(lakeOf(topic), 'messages')
    expect(messages).toHaveLength(3)
    expect(new Set(messages.map((m) => m.event_id)).size).toBe(3)
  })

  describe('the final flush writing while the previous one publishes', () => {
    const rounds = 3000 // 21,000 events, ~5 MB on one partition: several fetches, several flushes
    /** Several record batches (~1.7 MB each), so the stream fetches them one at a time. */
    const produceInBatches = async (topic: string) => {
      for (let i = 0; i < rounds; i += 1000) await stack.produce(topic, sampleEvents(1000, i))
    }
    /** The lake with a delay before every upload (and, optionally, a failing first commit). */
    const slowLake = (
      topic: string,
      log: { commit: string; start: number; end: number }[],
      failFirst = false,
    ) => {
      const inner = lakeOf(topic)
      let first: string | undefined
      return new Proxy(inner, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver)
          if (prop !== 'putFile') return typeof v === 'function' ? v.bind(target) : v
          return async (localPath: string, to: string, options?: { overwrite?: boolean }) => {
            const commit = /staging\/([^/]+)\//.exec(to)?.[1] ?? '?'
            first ??= commit
            const start = performance.now()
            await new Promise((r) => setTimeout(r, 400))
            if (failFirst && commit === first) throw new Error('injected upload failure')
            await inner.putFile(localPath, to, options)
            log.push({ commit, start, end: performance.now() })
          }
        },
      })
    }

    it('publishes in order, every event exactly once', async () => {
      const topic = 'events-overlap'
      await stack.createTopic(topic, 1)
      await produceInBatches(topic)
      const log: { commit: string; start: number; end: number }[] = []
      const r = await streamToLake(base(topic, { maxRows: 4000 }), {
        kafka: stack.kafka('overlap'),
        lake: slowLake(topic, log),
      })
      expect(r.events).toBe(rounds * 7)
      expect(r.rows.purchases).toBe(rounds * 2)
      expect(r.rows.transactions).toBe(rounds * 3)
      expect(r.offsets).toEqual({ '0': String(rounds * 7) })
      const records = (await readCommitRecords(lakeOf(topic))).sort((a, b) => a.seq - b.seq)
      expect(records.length).toBeGreaterThanOrEqual(2)
      expect(records.map((x) => x.commitId)).toEqual(r.commits)
      // Each commit's uploads start after the previous commit's uploads ended.
      for (let i = 1; i < records.length; i++) {
        const before = log.filter((e) => e.commit === records[i - 1].commitId)
        const after = log.filter((e) => e.commit === records[i].commitId)
        if (before.length === 0 || after.length === 0) continue
        expect(Math.min(...after.map((e) => e.start))).toBeGreaterThanOrEqual(
          Math.max(...before.map((e) => e.end)),
        )
      }
      const ids = await duckQuery(
        `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM read_parquet('${path.join(stack.dir, 'hdfs', 'tmp', topic)}/transactions/*/*.parquet')`,
      )
      expect(ids).toEqual([{ n: rounds * 3, ids: rounds * 3 }])
      expect((await readTable(lakeOf(topic), 'messages')).length).toBe(rounds)
    })

    it('publishes nothing after the previous flush failed, and a restart lands everything once', async () => {
      const topic = 'events-overlap-fail'
      await stack.createTopic(topic, 1)
      await produceInBatches(topic)
      const log: { commit: string; start: number; end: number }[] = []
      await expect(
        streamToLake(base(topic, { maxRows: 4000 }), {
          kafka: stack.kafka('overlap-fail'),
          lake: slowLake(topic, log, true),
        }),
      ).rejects.toThrow(/injected upload failure/)
      expect(await readCommitRecords(lakeOf(topic))).toEqual([])
      const r = await streamToLake(base(topic), { kafka: stack.kafka('overlap-fail-2'), lake: lakeOf(topic) })
      expect(r.events).toBe(rounds * 7)
      expect((await readTable(lakeOf(topic), 'purchases')).length).toBe(rounds * 2)
      expect((await readTable(lakeOf(topic), 'transactions')).length).toBe(rounds * 3)
    })
  })

  it('flushes on the interval when traffic stops (idle flush)', async () => {
    const topic = 'events-idle'
    await stack.createTopic(topic, 1)
    const controller = new AbortController()
    const progress: StreamProgress[] = []
    let producedAt = 0
    let publishedAt = 0
    const intervalMs = 400
    const running = streamToLake(
      base(topic, { once: false, intervalMs }),
      {
        kafka: stack.kafka('idle'),
        lake: lakeOf(topic),
        onProgress: (p) => progress.push(p),
      },
      controller.signal,
    )
    // Wait until the stream has joined and taken its partition, then send a few events and go silent.
    const deadline = Date.now() + 20_000
    while (!progress.some((p) => p.assigned.length === 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    producedAt = Date.now()
    await stack.produce(topic, sampleEvents(1).slice(0, 3))
    while (Date.now() < deadline) {
      const recs = await readCommitRecords(lakeOf(topic))
      if (recs.some((r) => r.topic === topic && r.files.length > 0)) {
        publishedAt = Date.now()
        break
      }
      await new Promise((r) => setTimeout(r, 25))
    }
    controller.abort()
    const result = await running
    expect(publishedAt).toBeGreaterThan(0)
    // Within one interval of the last event (plus the time to write and publish).
    expect(publishedAt - producedAt).toBeLessThan(intervalMs + 1500)
    expect(result.stoppedBy).toBe('signal')
    expect(result.events).toBe(3)
    expect(result.rows.purchases).toBe(2)
  })

  it('leaves out rows another writer published after this one was assigned the partition', async () => {
    const topic = 'events-late'
    await stack.createTopic(topic, 1)
    await stack.produce(topic, sampleEvents(2))
    const lake = lakeOf(topic)
    const controller = new AbortController()
    let events = 0
    const running = streamToLake(
      base(topic, { once: false, intervalMs: 60_000 }),
      { kafka: stack.kafka('late'), lake, onProgress: (p) => (events = p.events) },
      controller.signal,
    )
    const deadline = Date.now() + 20_000
    while (events < 14 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(events).toBe(14)
    // The previous owner's flush lands now, covering offsets 0-5 of partition 0 (its files are
    // not needed to show the effect: the record alone says those offsets are published).
    await publish(lake, {
      commitId: 'other',
      seq: 99,
      topic,
      group: `g-${topic}`,
      offsets: { '0': '6' },
      files: [],
    })
    controller.abort()
    const result = await running
    expect(result.warnings.join(' ')).toMatch(/Partition 0: rows below offset 6/)
    // Offsets 0-5 were: sword, knife, add_money, join_guild, cancel, mensaje of round 0.
    expect(await readTable(lake, 'guild_membership')).toHaveLength(1)
    expect(await readTable(lake, 'messages')).toHaveLength(1)
    expect((await readTable(lake, 'transactions')).length).toBe(3)
    expect(result.rows.transactions).toBe(3)
    expect(result.offsets).toEqual({ '0': '14' })
  })

  it('fails with an unreachable error (exit 4) when Kafka does not answer', async () => {
    const { createKafka } = await import('../../../src/lib/kafka/client.js')
    const kafka = createKafka({ brokers: ['127.0.0.1:1'], retry: { retries: 0 }, connectionTimeout: 300 })
    await expect(
      streamToLake({ ...base('x'), brokers: ['127.0.0.1:1'] }, { kafka, lake: lakeOf('x') }),
    ).rejects.toMatchObject({ code: 'UNREACHABLE', exitCode: 4 })
  })
})
