import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { type TestBroker, testBroker } from './helpers.js'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const PYTHON = '/usr/bin/python3'

/**
 * confluent-kafka-python (librdkafka 2.0.2) against the embedded broker: an idempotent producer, a
 * static group member (group.instance.id) that consumes and commits, then restarts. The broker's
 * debug log says which API versions librdkafka chose.
 */
describe.skipIf(!existsSync(PYTHON))('confluent-kafka group consumer', () => {
  let t: TestBroker | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  it('produces idempotently, consumes and commits as a static member, resumes after a restart', async () => {
    const debug: string[] = []
    t = await testBroker({
      defaultPartitions: 3,
      logDebug: true,
      log: (level, message) => {
        if (level === 'debug') debug.push(message)
      },
    })
    const admin = t.kafka().admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'py-events', numPartitions: 3 }] })
    await admin.disconnect()
    const { stdout } = await run(
      PYTHON,
      [
        path.join(here, 'fixtures/confluent-group.py'),
        `127.0.0.1:${t.broker.port}`,
        'py-events',
        'py-group',
        '30',
      ],
      { timeout: 120_000 },
    )
    const out = JSON.parse(stdout)
    expect(out.produce_errors).toEqual([])
    expect(out.delivered).toBe(30)
    expect(out.first.values).toEqual(Array.from({ length: 30 }, (_, i) => `event-${i}`).sort())
    expect(out.first.assignment).toEqual([0, 1, 2])
    // committed offsets add up to every message
    const sum = Object.values(out.first.committed as Record<string, number>).reduce((a, b) => a + b, 0)
    expect(sum).toBe(30)
    expect(out.second.values).toEqual([])
    expect(out.second.committed).toEqual(out.first.committed)

    // The broker stored each event once (the idempotent producer's sequences were accepted).
    const kafka = t.kafka()
    const offsets = await kafka.admin().fetchTopicOffsets('py-events')
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(30)
    const used = new Map<string, number>()
    for (const m of debug) {
      const match = /^(\w+) v(\d+) from /.exec(m)
      if (match) used.set(match[1], Math.max(used.get(match[1]) ?? -1, Number(match[2])))
    }
    // librdkafka 2.0.2's highest versions (its own maxima, all inside 3.9's ranges served here);
    // OffsetFetch v7 and InitProducerId v4 are flexible (request header v2, compact encodings).
    expect(Object.fromEntries(used)).toMatchObject({
      FindCoordinator: 2,
      JoinGroup: 5,
      SyncGroup: 3,
      Heartbeat: 3,
      OffsetCommit: 7,
      OffsetFetch: 7,
      InitProducerId: 4,
    })
    // The restarted static member replaced its old member id without a new generation.
    expect(debug.some((m) => /^static member py-static-1 of group py-group replaced /.test(m))).toBe(true)
    const generations = debug.filter((m) => /^group py-group generation \d+/.test(m))
    expect(generations).toHaveLength(1)
  }, 150_000)
})
