/**
 * `game up` with the data dir on a 16 MiB tmpfs, filled by a producer: status says kafka is
 * degraded (exit 1, KAFKA_STORAGE_ERROR, a df -h hint), doctor fails its kafka storage row, the
 * stack log has one line for the failure and one when writing resumes, produce works again without
 * a restart once space is freed, and after `game down && game up` kcat reads every acked record.
 * Skipped, with the reason, where this machine does not let us mount a tmpfs.
 */
import { execFile, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createKafka } from '../../src/lib/kafka/client.js'
import { runCli } from '../helpers/cli.js'
import { mountTmpfs } from '../helpers/tmpfs.js'

const hasKcat = spawnSync('kcat', ['-V']).status === 0

function kafkaAt(address: string): Kafka {
  return createKafka({ brokers: [address], clientId: 'e2e-disk-full', retry: { retries: 0 } })
}

async function trySend(kafka: Kafka, topic: string, value: string): Promise<string> {
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

describe('game on a full disk (tmpfs data dir)', () => {
  it('status/doctor report it, the log says it once, produce resumes by itself, nothing acked is lost', async (ctx) => {
    const mounted = mountTmpfs('16m')
    ctx.skip('why' in mounted, 'why' in mounted ? `no tmpfs: ${mounted.why}` : undefined)
    const tmpfs = mounted as { dir: string; unmount: () => void }
    const home = tmpfs.dir
    const env = { GAME_HOME: home }
    let pid: number | undefined
    try {
      const up = await runCli(['up', '--kafka-port', '0', '--hdfs-port', '0', '--json'], { env })
      expect(up.code).toBe(0)
      const doc = JSON.parse(up.stdout)
      pid = doc.pid
      const address = doc.services[0].address as string
      const kafka = kafkaAt(address)
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'fill', numPartitions: 1 }] })
      await admin.disconnect()

      // 3 MiB to give back later, then produce 256 KiB records until the disk is full.
      const filler = path.join(home, 'filler')
      await writeFile(filler, Buffer.alloc(3 << 20, 1))
      const producer = kafka.producer()
      await producer.connect()
      const acked: string[] = []
      let refused = ''
      for (let i = 0; i < 100 && !refused; i++) {
        const value = `r-${i}-`.padEnd(256 * 1024, 'x')
        try {
          await producer.send({ topic: 'fill', messages: [{ value }] })
          acked.push(value)
        } catch (error) {
          const e = error as Error & { type?: string; cause?: { type?: string } }
          refused = e.type ?? e.cause?.type ?? e.message
        }
      }
      await producer.disconnect()
      expect(refused).toBe('KAFKA_STORAGE_ERROR')

      const status = await runCli(['status', '--json'], { env })
      expect(status.code).toBe(1)
      const s = JSON.parse(status.stdout)
      const k = s.services.find((x: { name: string }) => x.name === 'kafka')
      expect(k).toMatchObject({
        state: 'degraded',
        storage: { ok: false, logDirs: [{ dir: path.join(home, 'kafka'), ok: false }] },
      })
      expect(k.detail).toContain('KAFKA_STORAGE_ERROR')
      expect(s.error).toMatchObject({ code: 'KAFKA_STORAGE_ERROR', exitCode: 1 })
      expect(s.error.hint).toContain(`df -h ${path.join(home, 'kafka')}`)
      const human = await runCli(['status'], { env })
      expect(human.code).toBe(1)
      expect(human.stdout).toMatch(/kafka .*degraded/)
      expect(human.stderr).toContain('Hint: Free space at')

      const doctor = await runCli(['doctor', '--json'], { env })
      expect(doctor.code).toBe(1)
      const checks = Object.fromEntries(
        (JSON.parse(doctor.stdout).checks as { name: string; ok: boolean; fix: string }[]).map((c) => [
          c.name,
          c,
        ]),
      )
      expect(checks['kafka storage']).toMatchObject({ ok: false })
      expect(checks['kafka storage'].fix).toContain('df -h')
      expect(checks['disk space'].ok).toBe(false)

      await rm(filler)
      const after = 'after-0-'.padEnd(256 * 1024, 'z')
      expect(await trySend(kafka, 'fill', after)).toBe('sent')
      acked.push(after)
      const ok = await runCli(['status', '--json'], { env })
      expect(ok.code).toBe(0)
      expect(JSON.parse(ok.stdout).services[0]).toMatchObject({ name: 'kafka', state: 'running' })

      // The end of the episode is logged once writes have worked for 5 s (storageSettleMs).
      const logFile = path.join(home, 'logs', 'stack.log')
      const deadline = Date.now() + 30_000
      while (!readFileSync(logFile, 'utf8').includes('storage writable again') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200))
      const log = readFileSync(logFile, 'utf8')
      expect(log.match(/\[kafka\] error storage failure: .*ENOSPC/g)).toHaveLength(1)
      expect(log.indexOf('[kafka] info storage writable again')).toBeGreaterThan(
        log.indexOf('[kafka] error storage failure'),
      )

      expect((await runCli(['down'], { env })).code).toBe(0)
      const again = await runCli(['up', '--kafka-port', '0', '--hdfs-port', '0', '--json'], { env })
      expect(again.code).toBe(0)
      const doc2 = JSON.parse(again.stdout)
      pid = doc2.pid
      const address2 = doc2.services[0].address as string
      if (hasKcat) {
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            'kcat',
            ['-b', address2, '-C', '-t', 'fill', '-o', 'beginning', '-e', '-f', '%s\\n'],
            { timeout: 30_000, maxBuffer: 128 << 20 },
            (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
          ),
        )
        expect(out.split('\n').filter((l) => l)).toEqual(acked)
      } else {
        const admin2 = kafkaAt(address2).admin()
        await admin2.connect()
        const offsets = await admin2.fetchTopicOffsets('fill')
        await admin2.disconnect()
        expect(offsets[0].high).toBe(String(acked.length))
      }
      expect((await runCli(['down'], { env })).code).toBe(0)
      pid = undefined
    } finally {
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
      tmpfs.unmount()
    }
  }, 180_000)
})
