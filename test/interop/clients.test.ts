import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestBroker, testBroker } from '../lib/broker/helpers.js'

/**
 * Clients we did not write against the embedded broker, as real processes: kcat (librdkafka 2.0.2)
 * producing every codec, kafka-python 2.0.2 (admin, producer, a consumer group with commits) and
 * confluent-kafka-python 1.7.0 (AdminClient create/list, producer, consumer group with commits).
 * The broker's debug log says which versions each client chose: librdkafka negotiates flexible
 * versions where it has them (ApiVersions v3, InitProducerId v4, OffsetFetch v7).
 * kafkajs is covered in test/lib/broker/kafkajs.test.ts.
 */

const here = path.dirname(fileURLToPath(import.meta.url))
const PYTHON = '/usr/bin/python3'
const hasKcat = ['/usr/bin/kcat', '/usr/local/bin/kcat'].some(existsSync)

function run(cmd: string, args: string[], input?: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${cmd} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    )
    child.stdin?.end(input ?? '')
  })
}

/** The codec (attributes & 7) of every batch in a partition's segment files. */
function codecsOnDisk(dataDir: string, topic: string, partition: number): number[] {
  const dir = path.join(dataDir, `${topic}-${partition}`)
  const out: number[] = []
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    const buf = readFileSync(path.join(dir, f))
    for (let pos = 0; pos + 61 <= buf.length; pos += 12 + buf.readInt32BE(pos + 8))
      out.push(buf.readInt16BE(pos + 21) & 7)
  }
  return out
}

describe.skipIf(!hasKcat || !existsSync(PYTHON))(
  'interop: other Kafka clients against the embedded broker',
  () => {
    let t: TestBroker
    let b: string
    const debug: string[] = []
    const used = (api: string) =>
      new Set(debug.filter((m) => m.startsWith(`${api} v`)).map((m) => Number(/ v(\d+)/.exec(m)![1])))

    beforeAll(async () => {
      t = await testBroker({
        defaultPartitions: 2,
        logDebug: true,
        log: (level, message) => {
          if (level === 'debug') debug.push(message)
        },
      })
      b = `127.0.0.1:${t.broker.port}`
    })
    afterAll(async () => {
      await t?.close()
    })

    it('kcat produces gzip, snappy, lz4 and zstd batches that are stored compressed, and reads them back', async () => {
      const codecs = ['gzip', 'snappy', 'lz4', 'zstd']
      for (const [i, codec] of codecs.entries()) {
        // Compressible values: librdkafka sends a batch uncompressed when compressing would not help.
        await run(
          'kcat',
          ['-b', b, '-P', '-t', 'ic', '-p', '0', '-z', codec],
          `${`${codec} `.repeat(60)}${i}\n`.repeat(20),
        )
      }
      expect([...new Set(codecsOnDisk(t.dataDir, 'ic', 0))]).toEqual([1, 2, 3, 4])
      const out = await run('kcat', [
        '-b',
        b,
        '-C',
        '-t',
        'ic',
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%o\\n',
      ])
      expect(out.trim().split('\n')).toHaveLength(80)
      expect(used('ApiVersions')).toContain(3)
    })

    it('kafka-python: admin create/list, gzip producer, a consumer group that commits and resumes', async () => {
      const out = await run(
        PYTHON,
        [path.join(here, 'py', 'kafka_python_client.py'), b, 'kp-topic'],
        undefined,
        90_000,
      )
      const doc = JSON.parse(out.trim().split('\n').at(-1)!)
      expect(doc.topics).toContain('kp-topic')
      expect(doc.first).toEqual(Array.from({ length: 10 }, (_, i) => `kp-${i}`).sort())
      expect(doc.second).toEqual([])
      expect(codecsOnDisk(t.dataDir, 'kp-topic', 0).concat(codecsOnDisk(t.dataDir, 'kp-topic', 1))).toContain(
        1,
      )
    })

    it('confluent-kafka: AdminClient create/list, idempotent lz4 producer, consumer group with commits (flexible versions)', async () => {
      const script = `
import json, time
from confluent_kafka import Producer, Consumer
from confluent_kafka.admin import AdminClient, NewTopic
b = ${JSON.stringify(b)}
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic('cf-topic', 2, 1)]).values(): f.result()
topics = sorted(a.list_topics(timeout=10).topics.keys())
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True, 'compression.type': 'lz4'})
for i in range(10): p.produce('cf-topic', ('cf-%d ' % i + 'y' * 200).encode())
p.flush(10)
def consume(n, secs):
    c = Consumer({'bootstrap.servers': b, 'group.id': 'cf-group', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe(['cf-topic'])
    seen, end = [], time.time() + secs
    while len(seen) < n and time.time() < end:
        m = c.poll(0.5)
        if m is not None and not m.error(): seen.append(m.value().decode().split(' ')[0])
    if seen: c.commit(asynchronous=False)
    c.close()
    return seen
first = consume(10, 30)
second = consume(1, 5)
print(json.dumps({'topics': topics, 'first': sorted(first), 'second': second}))
`
      const out = await run(PYTHON, ['-c', script], undefined, 90_000)
      const doc = JSON.parse(out.trim().split('\n').at(-1)!)
      expect(doc.topics).toContain('cf-topic')
      expect(doc.first).toEqual(Array.from({ length: 10 }, (_, i) => `cf-${i}`).sort())
      expect(doc.second).toEqual([])
      expect(codecsOnDisk(t.dataDir, 'cf-topic', 0).concat(codecsOnDisk(t.dataDir, 'cf-topic', 1))).toContain(
        3,
      )
      // librdkafka 2.0.2 chose flexible versions where it has them.
      expect(used('InitProducerId')).toContain(4)
      expect(used('OffsetFetch')).toContain(7)
      expect(debug.some((m) => m.startsWith('client software confluent-kafka-python'))).toBe(true)
      expect(t.broker.stats().rejectedConnections).toBe(0)
    })
  },
)
