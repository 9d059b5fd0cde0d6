import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestBroker, testBroker } from './helpers.js'

describe('kafkajs admin against startBroker', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await testBroker({ autoCreateTopics: false })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('creates, describes and deletes topics', async () => {
    const admin = t.kafka('admin').admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: 'a1', numPartitions: 2 }, { topic: 'a2' }] })).toBe(
      true,
    )
    expect(await admin.createTopics({ topics: [{ topic: 'a1', numPartitions: 2 }] })).toBe(false)
    await expect(admin.createTopics({ topics: [{ topic: 'bad name!' }] })).rejects.toThrow()
    await expect(admin.createTopics({ topics: [{ topic: 'zero', numPartitions: 0 }] })).rejects.toThrow()
    expect((await admin.listTopics()).sort()).toEqual(['a1', 'a2'])
    const meta = await admin.fetchTopicMetadata({ topics: ['a1'] })
    expect(meta.topics[0].partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr])).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
    ])
    const cluster = await admin.describeCluster()
    expect(cluster.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: t.broker.port }])
    expect(cluster.controller).toBe(0)
    await admin.deleteTopics({ topics: ['a2'] })
    expect(await admin.listTopics()).toEqual(['a1'])
    await admin.disconnect()
  })

  it('refuses to auto-create when the broker says so, and the producer sees the error', async () => {
    const kafka = t.kafka('noauto')
    const producer = kafka.producer({ retry: { retries: 1, initialRetryTime: 10 } })
    await producer.connect()
    await expect(producer.send({ topic: 'never-created', messages: [{ value: 'x' }] })).rejects.toThrow()
    await producer.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    expect(await admin.listTopics()).not.toContain('never-created')
    await admin.disconnect()
  })

  it('describes topic and broker configs', async () => {
    const admin = t.kafka('configs').admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        { topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    })
    const { ConfigResourceTypes } = await import('kafkajs')
    const res = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'cfg' },
        { type: ConfigResourceTypes.BROKER, name: '0', configNames: ['num.partitions'] },
      ],
      includeSynonyms: false,
    })
    const topic = res.resources.find((r) => r.resourceName === 'cfg')!
    expect(topic.errorCode).toBe(0)
    expect(topic.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000')
    expect(topic.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('delete')
    const broker = res.resources.find((r) => r.resourceName === '0')!
    expect(broker.configEntries.map((e) => [e.configName, e.configValue])).toEqual([['num.partitions', '3']])
    await expect(
      admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'nope' }],
        includeSynonyms: false,
      }),
    ).rejects.toThrow()
    await admin.disconnect()
  })

  it('lists offsets: earliest, latest and by timestamp', async () => {
    const kafka = t.kafka('offsets')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'ts', numPartitions: 1 }] })
    const producer = kafka.producer()
    await producer.connect()
    const base = Date.now() - 100_000
    for (let i = 0; i < 5; i++) {
      await producer.send({
        topic: 'ts',
        acks: -1,
        messages: [
          { value: `a${i}`, timestamp: String(base + i * 10_000) },
          { value: `b${i}`, timestamp: String(base + i * 10_000 + 1) },
        ],
      })
    }
    await producer.disconnect()
    expect(await admin.fetchTopicOffsets('ts')).toEqual([
      { partition: 0, offset: '10', high: '10', low: '0' },
    ])
    const at = await admin.fetchTopicOffsetsByTimestamp('ts', base + 25_000)
    expect(at).toEqual([{ partition: 0, offset: '6' }])
    const first = await admin.fetchTopicOffsetsByTimestamp('ts', base - 1)
    expect(first).toEqual([{ partition: 0, offset: '0' }])
    // Inside one batch the answer is the exact record, as in Kafka (uncompressed and gzip).
    const { CompressionTypes } = await import('kafkajs')
    const p2 = kafka.producer()
    await p2.connect()
    const later = base + 200_000
    for (const [k, compression] of [CompressionTypes.None, CompressionTypes.GZIP].entries()) {
      await p2.send({
        topic: 'ts',
        acks: -1,
        compression,
        messages: [0, 1, 2, 3, 4].map((i) => ({
          value: `c${i}`,
          timestamp: String(later + k * 1000 + i * 10),
        })),
      })
    }
    await p2.disconnect()
    expect(await admin.fetchTopicOffsetsByTimestamp('ts', later + 25)).toEqual([
      { partition: 0, offset: '13' },
    ])
    expect(await admin.fetchTopicOffsetsByTimestamp('ts', later + 1)).toEqual([
      { partition: 0, offset: '11' },
    ])
    expect(await admin.fetchTopicOffsetsByTimestamp('ts', later + 1035)).toEqual([
      { partition: 0, offset: '19' },
    ])
    // After the last timestamp kafkajs substitutes the high watermark for Kafka's -1.
    const future = await admin.fetchTopicOffsetsByTimestamp('ts', Date.now() + 3_600_000)
    expect(future).toEqual([{ partition: 0, offset: '20' }])
    await admin.disconnect()
  })

  it('describes and lists consumer groups, and sets offsets for an empty group', async () => {
    const kafka = t.kafka('groups')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'grp', numPartitions: 2 }] })
    const consumer = kafka.consumer({ groupId: 'desc-g', heartbeatInterval: 100, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'grp', fromBeginning: true })
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
    void consumer.run({ eachMessage: async () => {} })
    await joined
    const described = await admin.describeGroups(['desc-g', 'nobody'])
    const g = described.groups.find((x) => x.groupId === 'desc-g')!
    expect(g.state).toBe('Stable')
    expect(g.protocolType).toBe('consumer')
    expect(g.protocol).toBe('RoundRobinAssigner')
    expect(g.members).toHaveLength(1)
    expect(g.members[0].clientId).toBe('groups')
    expect(g.members[0].memberAssignment.length).toBeGreaterThan(0)
    expect(described.groups.find((x) => x.groupId === 'nobody')!.state).toBe('Dead')
    const listed = await admin.listGroups()
    expect(listed.groups).toContainEqual({ groupId: 'desc-g', protocolType: 'consumer' })
    // A live group refuses admin offset changes (kafkajs checks for members itself, Kafka refuses the commit).
    await consumer.disconnect()
    expect((await admin.describeGroups(['desc-g'])).groups[0].state).toBe('Empty')
    // setOffsets runs a paused consumer until its first fetch returns (kafkajs's default 5 s max wait).
    await admin.setOffsets({ groupId: 'desc-g', topic: 'grp', partitions: [{ partition: 1, offset: '0' }] })
    const fetched = await admin.fetchOffsets({ groupId: 'desc-g', topics: ['grp'] })
    expect(fetched[0].partitions.find((p) => p.partition === 1)!.offset).toBe('0')
    await admin.disconnect()
  })
})
