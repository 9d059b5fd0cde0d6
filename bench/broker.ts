// kafkajs produce + consume throughput against the embedded broker in a child process.
// Usage: npx tsx bench/broker.ts [--messages 1000000] [--size 300] [--batch 1000] [--partitions 3]
//        [--fsync always|<ms>] [--inflight 3] [--keep] [--broker-prof <dir>] (V8 CPU profile of the broker)
// Prints one JSON summary on stdout (progress on stderr).
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createKafka } from '../src/lib/kafka/client.js'

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '300' },
    batch: { type: 'string', default: '1000' },
    partitions: { type: 'string', default: '3' },
    fsync: { type: 'string', default: 'always' },
    inflight: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    'broker-prof': { type: 'string' },
  },
})
const total = Number(args.messages)
const size = Number(args.size)
const batchSize = Number(args.batch)
const partitions = Number(args.partitions)
const inflight = Number(args.inflight)

interface ChildStats {
  cpuUserUs: number
  cpuSystemUs: number
  rss: number
  maxRssKb: number
  stats: { bytesIn: number; bytesOut: number; requests: Record<string, number> }
}

function request<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T))
    child.send({ cmd })
  })
}

const cpuSeconds = (u: { user: number; system: number }) => (u.user + u.system) / 1e6
const childCpu = (s: ChildStats) => (s.cpuUserUs + s.cpuSystemUs) / 1e6
const log = (m: string) => process.stderr.write(`${m}\n`)

const here = path.dirname(fileURLToPath(import.meta.url))
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-broker-'))
const child = fork(path.join(here, 'broker-server.ts'), [dataDir, args.fsync], {
  execArgv: [
    '--import',
    'tsx',
    ...(args['broker-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['broker-prof']}`] : []),
  ],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
try {
  const { port } = await new Promise<{ port: number }>((resolve) =>
    child.once('message', (m) => resolve(m as { port: number })),
  )
  const kafka = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: 'bench' })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: partitions }] })
  await admin.disconnect()

  const value = Buffer.alloc(size, 'x')
  const base = await request<ChildStats>(child, 'stats')

  // Produce: `inflight` concurrent sends of `batch` messages each, round-robin partitions.
  const producer = kafka.producer()
  await producer.connect()
  let clientCpu = process.cpuUsage()
  let started = performance.now()
  let next = 0
  let lastReport = 0
  const worker = async () => {
    while (next < total) {
      const n = Math.min(batchSize, total - next)
      const p = Math.floor(next / batchSize) % partitions
      next += n
      const messages = new Array(n)
      for (let i = 0; i < n; i++) messages[i] = { value, partition: p }
      await producer.send({ topic: 'bench', acks: -1, messages })
      if (next - lastReport >= total / 10) {
        lastReport = next
        log(`produced ${next}/${total}`)
      }
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker))
  const produceSeconds = (performance.now() - started) / 1000
  const produceClientCpu = cpuSeconds(process.cpuUsage(clientCpu))
  await producer.disconnect()
  const afterProduce = await request<ChildStats>(child, 'stats')

  // Consume with a consumer group from the beginning.
  const consumer = kafka.consumer({ groupId: 'bench', maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'bench', fromBeginning: true })
  clientCpu = process.cpuUsage()
  started = performance.now()
  let consumed = 0
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          consumed += batch.messages.length
          if (consumed >= total) resolve()
        },
      })
      .catch(reject)
  })
  const consumeSeconds = (performance.now() - started) / 1000
  const consumeClientCpu = cpuSeconds(process.cpuUsage(clientCpu))
  await consumer.disconnect()
  const afterConsume = await request<ChildStats>(child, 'stats')

  const brokerProduceCpu = childCpu(afterProduce) - childCpu(base)
  const brokerConsumeCpu = childCpu(afterConsume) - childCpu(afterProduce)
  const mb = (total * size) / 1e6
  const summary = {
    command: `npx tsx bench/broker.ts --messages ${total} --size ${size} --batch ${batchSize} --partitions ${partitions} --fsync ${args.fsync} --inflight ${inflight}`,
    messages: total,
    messageBytes: size,
    produce: {
      seconds: +produceSeconds.toFixed(2),
      messagesPerSec: Math.round(total / produceSeconds),
      mbPerSec: +(mb / produceSeconds).toFixed(1),
      brokerCpuSeconds: +brokerProduceCpu.toFixed(2),
      clientCpuSeconds: +produceClientCpu.toFixed(2),
      brokerToClientCpu: +(brokerProduceCpu / produceClientCpu).toFixed(3),
    },
    consume: {
      seconds: +consumeSeconds.toFixed(2),
      messagesPerSec: Math.round(consumed / consumeSeconds),
      mbPerSec: +(mb / consumeSeconds).toFixed(1),
      brokerCpuSeconds: +brokerConsumeCpu.toFixed(2),
      clientCpuSeconds: +consumeClientCpu.toFixed(2),
      brokerToClientCpu: +(brokerConsumeCpu / consumeClientCpu).toFixed(3),
    },
    total: {
      brokerCpuSeconds: +(brokerProduceCpu + brokerConsumeCpu).toFixed(2),
      clientCpuSeconds: +(produceClientCpu + consumeClientCpu).toFixed(2),
      brokerToClientCpu: +(
        (brokerProduceCpu + brokerConsumeCpu) /
        (produceClientCpu + consumeClientCpu)
      ).toFixed(3),
    },
    broker: {
      peakRssMb: Math.round(afterConsume.maxRssKb / 1024),
      rssAfterMb: Math.round(afterConsume.rss / 1e6),
      bytesIn: afterConsume.stats.bytesIn,
      bytesOut: afterConsume.stats.bytesOut,
      requests: afterConsume.stats.requests,
    },
    consumed,
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  // The child answers 'stop' by closing the broker and exiting: wait for the exit, not a reply.
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.send({ cmd: 'stop' })
  })
} finally {
  child.kill('SIGKILL')
  if (!args.keep) await rm(dataDir, { recursive: true, force: true })
  else log(`data kept in ${dataDir}`)
}
