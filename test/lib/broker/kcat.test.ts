// A second client: librdkafka through kcat (Debian package `kcat`), if installed. It negotiates
// versions through ApiVersions v3 -> UNSUPPORTED_VERSION -> v2 and then uses the highest versions
// we advertise, so it checks more than kafkajs does (Produce v8, Metadata v8, the KIP-511 path,
// snappy/lz4/zstd batches stored untouched).
import { execFile, spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestBroker, testBroker } from './helpers.js'

const hasKcat = spawnSync('kcat', ['-V']).status === 0

function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kcat ${args.join(' ')} failed: ${stderr}`))
      else resolve(stdout)
    })
    child.stdin?.end(input ?? '')
  })
}

describe.skipIf(!hasKcat)('kcat (librdkafka) against startBroker', () => {
  let t: TestBroker
  let b: string
  const debug: string[] = []
  beforeAll(async () => {
    t = await testBroker({
      logDebug: true,
      log: (level, message) => level === 'debug' && debug.push(message),
    })
    b = `127.0.0.1:${t.broker.port}`
  })
  afterAll(async () => {
    await t?.close()
  })

  it('lists metadata, produces with every codec and reads it back', async () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      await kcat(['-b', b, '-P', '-t', 'kc', '-p', '0', '-z', codec], `${codec}-1\n${codec}-2\n`)
    }
    const meta = JSON.parse(await kcat(['-b', b, '-L', '-J']))
    expect(meta.brokers).toEqual([{ id: 0, name: `${b}` }])
    expect(meta.topics.find((x: { topic: string }) => x.topic === 'kc').partitions).toHaveLength(3)
    const out = await kcat(['-b', b, '-C', '-t', 'kc', '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\\n'])
    expect(out.trim().split('\n')).toEqual(
      ['none', 'gzip', 'snappy', 'lz4', 'zstd'].flatMap((c, i) => [`${2 * i} ${c}-1`, `${2 * i + 1} ${c}-2`]),
    )
    // librdkafka asked for ApiVersions v3 (flexible: request header v2, compact body) and got it;
    // no connection was dropped for a version.
    const stats = t.broker.stats()
    expect(stats.requests.ApiVersions).toBeGreaterThanOrEqual(1)
    expect(stats.rejectedConnections).toBe(0)
    expect(debug.some((m) => m.startsWith('ApiVersions v3 from'))).toBe(true)
    expect(debug.some((m) => m.startsWith('client software librdkafka'))).toBe(true)
  })

  it('consumes with a consumer group and commits offsets kafkajs can read', async () => {
    await kcat(['-b', b, '-P', '-t', 'kg', '-p', '1'], 'a\nb\nc\n')
    const out = await kcat([
      '-b',
      b,
      '-G',
      'kcat-g',
      '-X',
      'auto.offset.reset=earliest',
      '-X',
      'enable.auto.commit=true',
      '-X',
      'auto.commit.interval.ms=100',
      '-e',
      '-f',
      '%p:%o %s\\n',
      'kg',
    ])
    expect(out.trim().split('\n')).toEqual(['1:0 a', '1:1 b', '1:2 c'])
    const admin = t.kafka('kcat-check').admin()
    await admin.connect()
    const committed = await admin.fetchOffsets({ groupId: 'kcat-g', topics: ['kg'] })
    expect(committed[0].partitions.find((p) => p.partition === 1)?.offset).toBe('3')
    await admin.disconnect()
  })
})
