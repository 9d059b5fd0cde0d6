/**
 * The broker on a full disk, end to end with real clients: produce gets KAFKA_STORAGE_ERROR, the
 * status probe (DescribeLogDirs) says "degraded" with a hint, the log has one line per episode,
 * produce works again without a restart once space returns, and after a restart kafkajs and kcat
 * read every acked record, none of the refused ones, no torn batch.
 * Twice: with the DiskBudget write hook (ENOSPC injected), and on a real 8 MiB tmpfs where this
 * machine lets us mount one.
 */
import { execFile, spawnSync } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { startBroker } from '../../../src/lib/broker/index.js'
import { DiskBudget } from '../../../src/lib/broker/log/files.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { createLineWriter } from '../../../src/lib/stack/log-writer.js'
import { describeKafkaStorage, probeKafka } from '../../../src/lib/stack/probes.js'
import { toServiceStatus } from '../../../src/lib/stack/status.js'
import { mountTmpfs } from '../../helpers/tmpfs.js'
import { testBroker } from './helpers.js'

const hasKcat = spawnSync('kcat', ['-V']).status === 0

function noRetryKafka(address: string): Kafka {
  return createKafka({ brokers: [address], clientId: 'disk-full', retry: { retries: 0 } })
}

/** Every record of the topic from the beginning, with a fresh consumer group. */
async function consumeAll(kafka: Kafka, topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `read-${Math.random()}`, maxWaitTimeInMs: 50 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${expected}`)), 30_000)
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '')
        if (seen.length >= expected) {
          clearTimeout(timer)
          resolve()
        }
      },
    })
  })
  await consumer.disconnect()
  return seen
}

function kcatRead(address: string, topic: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'kcat',
      ['-b', address, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%s\\n'],
      { timeout: 30_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`kcat failed: ${stderr}`)) : resolve(stdout.split('\n').filter((l) => l)),
    )
  })
}

async function sendFails(kafka: Kafka, topic: string, value: string): Promise<string> {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value }] })
    return 'sent'
  } catch (error) {
    const e = error as Error & { type?: string; cause?: { type?: string } }
    return e.type ?? e.cause?.type ?? e.message
  } finally {
    await producer.disconnect()
  }
}

describe('broker on a full disk (injected ENOSPC)', () => {
  it('refuses produce with KAFKA_STORAGE_ERROR, reports it, and resumes by itself once space returns', async () => {
    const disk = new DiskBudget()
    const lines: string[] = []
    const t = await testBroker({
      storageFaults: disk,
      storageRetryMs: 0,
      storageSettleMs: 0,
      log: (level, message) => lines.push(`${level} ${message}`),
    })
    try {
      const address = `127.0.0.1:${t.broker.port}`
      const kafka = noRetryKafka(address)
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'df', numPartitions: 1 }] })
      await admin.disconnect()
      const producer = kafka.producer()
      await producer.connect()
      const acked: string[] = []
      for (let i = 0; i < 10; i++) {
        await producer.send({ topic: 'df', messages: [{ value: `a-${i}` }] })
        acked.push(`a-${i}`)
      }
      expect(toServiceStatus({ name: 'kafka', address }, await probeKafka(address)).state).toBe('running')

      disk.fill(40)
      for (let i = 0; i < 3; i++)
        expect(await sendFails(kafka, 'df', `lost-${i}`)).toBe('KAFKA_STORAGE_ERROR')
      const storage = await describeKafkaStorage(address)
      expect(storage?.ok).toBe(false)
      expect(storage?.logDirs[0].dir).toBe(t.dataDir)
      expect(storage?.logDirs[0].usableBytes).toBeGreaterThanOrEqual(0)
      const status = toServiceStatus({ name: 'kafka', address }, await probeKafka(address))
      expect(status.state).toBe('degraded')
      expect(status.detail).toContain('KAFKA_STORAGE_ERROR')
      expect(status.hint).toContain(`df -h ${t.dataDir}`)
      expect(lines.filter((l) => l.startsWith('error storage failure'))).toHaveLength(1)
      expect(lines.find((l) => l.startsWith('error storage failure'))).toMatch(/ENOSPC/)

      disk.free()
      for (let i = 0; i < 10; i++) {
        await producer.send({ topic: 'df', messages: [{ value: `b-${i}` }] })
        acked.push(`b-${i}`)
      }
      await producer.disconnect()
      expect(lines.filter((l) => l.startsWith('info storage writable again'))).toHaveLength(1)
      expect(lines.filter((l) => l.startsWith('error storage failure'))).toHaveLength(1)
      expect(toServiceStatus({ name: 'kafka', address }, await probeKafka(address)).state).toBe('running')

      await t.restart()
      const restarted = `127.0.0.1:${t.broker.port}`
      expect(await consumeAll(noRetryKafka(restarted), 'df', acked.length)).toEqual(acked)
      if (hasKcat) expect(await kcatRead(restarted, 'df')).toEqual(acked)
    } finally {
      await t.close()
    }
  }, 90_000)
})

describe('broker on a real full tmpfs', () => {
  it('8 MiB tmpfs: KAFKA_STORAGE_ERROR, degraded status, the stack log line, resume after rm, every acked record after restart', async (ctx) => {
    const mounted = mountTmpfs('8m')
    ctx.skip('why' in mounted, 'why' in mounted ? `no tmpfs: ${mounted.why}` : undefined)
    const tmpfs = mounted as { dir: string; unmount: () => void }
    const root = tmpfs.dir
    const dataDir = path.join(root, 'kafka')
    const logFile = path.join(root, 'stack.log')
    const fd = openSync(logFile, 'a')
    const writeLine = createLineWriter((b) => writeSync(fd, b))
    const start = (port = 0) =>
      startBroker({
        port,
        dataDir,
        storageRetryMs: 0,
        storageSettleMs: 0,
        fsync: 'always',
        log: (level, message) => {
          if (level !== 'debug') writeLine(`${new Date().toISOString()} [kafka] ${level} ${message}`)
        },
      })
    let broker = await start()
    try {
      // Room to give back later: 2 MiB of filler on the same file system.
      const filler = path.join(root, 'filler')
      await writeFile(filler, Buffer.alloc(2 << 20, 1))
      const address = `127.0.0.1:${broker.port}`
      const kafka = noRetryKafka(address)
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] })
      await admin.disconnect()
      const producer = kafka.producer()
      await producer.connect()
      const acked: string[] = []
      let refused = ''
      for (let i = 0; i < 200 && !refused; i++) {
        const value = `${`r-${i}-`.padEnd(200 * 1024, 'x')}`
        try {
          await producer.send({ topic: 'full', messages: [{ value }] })
          acked.push(value)
        } catch (error) {
          const e = error as Error & { type?: string; cause?: { type?: string } }
          refused = e.type ?? e.cause?.type ?? e.message
        }
      }
      expect(refused).toBe('KAFKA_STORAGE_ERROR')
      expect(acked.length).toBeGreaterThan(5)
      // Still full: refused again; the status probe says degraded with the dir and a hint.
      expect(await sendFails(kafka, 'full', 'more'.padEnd(200 * 1024, 'y'))).toBe('KAFKA_STORAGE_ERROR')
      const status = toServiceStatus({ name: 'kafka', address }, await probeKafka(address))
      expect(status.state).toBe('degraded')
      expect(status.storage?.logDirs[0]).toMatchObject({ dir: dataDir, ok: false })
      expect(status.storage?.logDirs[0].usableBytes).toBeLessThan(200 * 1024)
      expect(status.hint).toContain('df -h')

      await rm(filler)
      for (let i = 0; i < 3; i++) {
        const value = `after-${i}-`.padEnd(100 * 1024, 'z')
        await producer.send({ topic: 'full', messages: [{ value }] })
        acked.push(value)
      }
      await producer.disconnect()
      expect(toServiceStatus({ name: 'kafka', address }, await probeKafka(address)).state).toBe('running')
      // The stack log has the failure line (perhaps written late, when room came back) and then the resume line.
      const log = await readFile(logFile, 'utf8')
      const failure = log.indexOf('error storage failure')
      expect(failure).toBeGreaterThanOrEqual(0)
      expect(log.indexOf('error storage failure', failure + 1)).toBe(-1)
      expect(log.indexOf('info storage writable again')).toBeGreaterThan(failure)

      await broker.close()
      broker = await start(broker.port)
      const restarted = `127.0.0.1:${broker.port}`
      const read = await consumeAll(noRetryKafka(restarted), 'full', acked.length)
      expect(read.map((v) => v.slice(0, 12))).toEqual(acked.map((v) => v.slice(0, 12)))
      expect(read).toEqual(acked)
      if (hasKcat) expect((await kcatRead(restarted, 'full')).length).toBe(acked.length)
    } finally {
      await broker.close()
      closeSync(fd)
      tmpfs.unmount()
    }
  }, 120_000)
})
