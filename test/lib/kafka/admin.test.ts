import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import { describeKafkaCluster, ensureTopic, topicOffsets } from '../../../src/lib/kafka/admin.js'
import { createKafka } from '../../../src/lib/kafka/client.js'

describe('kafka admin (embedded broker)', () => {
  let dir: string
  let broker: BrokerHandle
  let brokers: string[]
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'game-admin-'))
    broker = await startBroker({ port: 0, dataDir: dir, storage: 'memory', autoCreateTopics: false })
    brokers = [`${broker.host}:${broker.port}`]
  })
  afterAll(async () => {
    await broker.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('describes the cluster', async () => {
    const info = await describeKafkaCluster({ brokers })
    expect(info.brokers).toHaveLength(1)
    expect(info.brokers[0].port).toBe(broker.port)
  })

  it('ensureTopic creates once, then leaves it as it is', async () => {
    expect(await ensureTopic({ brokers, topic: 'admin_t', partitions: 4 })).toEqual({
      topic: 'admin_t',
      created: true,
      partitions: 4,
    })
    expect(await ensureTopic({ brokers, topic: 'admin_t', partitions: 9 })).toEqual({
      topic: 'admin_t',
      created: false,
      partitions: 4,
    })
  })

  it('topicOffsets: earliest/latest per partition, sorted', async () => {
    await ensureTopic({ brokers, topic: 'admin_o', partitions: 2 })
    const producer = createKafka({ brokers }).producer()
    await producer.connect()
    await producer.send({
      topic: 'admin_o',
      messages: [
        { value: 'a', partition: 1 },
        { value: 'b', partition: 1 },
        { value: 'c', partition: 1 },
      ],
    })
    await producer.disconnect()
    const all = await topicOffsets({ brokers })
    expect(all.map((t) => t.name)).toEqual(['admin_o', 'admin_t'])
    expect(all[0].partitions).toEqual([
      { partition: 0, earliest: '0', latest: '0' },
      { partition: 1, earliest: '0', latest: '3' },
    ])
    expect((await topicOffsets({ brokers, topics: ['admin_t'] })).map((t) => t.name)).toEqual(['admin_t'])
  })

  it('an unreachable broker rejects', async () => {
    await expect(
      describeKafkaCluster({ brokers: ['127.0.0.1:1'], retries: 0, connectionTimeout: 300 }),
    ).rejects.toThrow()
  })
})
