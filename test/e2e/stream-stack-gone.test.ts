/** When Kafka goes away under a running stream, it exits 4 (UNREACHABLE) within ~30 s, every time. */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startBroker } from '../../src/lib/broker/index.js'
import { createKafka } from '../../src/lib/kafka/client.js'
import { BIN } from '../helpers/cli.js'
import { sampleEvents } from '../lib/stream/fixtures.js'

describe('game stream when the stack goes away (e2e)', () => {
  it('exits 4 within 45 s of the broker stopping', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-stream-gone-'))
    const broker = await startBroker({ port: 0, dataDir: path.join(dir, 'kafka'), storage: 'memory' })
    let closed = false
    try {
      const brokers = [`127.0.0.1:${broker.port}`]
      const kafka = createKafka({ brokers, clientId: 'test' })
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'gone', numPartitions: 2 }], waitForLeaders: true })
      await admin.disconnect()
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic: 'gone', acks: -1, messages: sampleEvents(2) })
      await producer.disconnect()

      const child = spawn(
        process.execPath,
        [
          BIN,
          'stream',
          '--brokers',
          brokers.join(','),
          '--topic',
          'gone',
          '--lake',
          pathToFileURL(path.join(dir, 'lake')).href,
          '--group',
          'g-gone',
          '--session-timeout',
          '6s',
          '--interval',
          '1s',
          '--json',
        ],
        { env: { ...process.env, CI: '1', NO_COLOR: '1', GAME_HOME: path.join(dir, 'home') }, stdio: 'pipe' },
      )
      let stderr = ''
      let stdout = ''
      child.stdout.on('data', (d) => {
        stdout += d
      })
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      // Wait until the stream has joined and consumed (its progress line counts events).
      child.stderr.on('data', (d) => {
        stderr += d
      })
      await new Promise<void>((resolve, reject) => {
        const onData = () => {
          if (/[1-9]\d* events/.test(stderr)) {
            child.stderr.off('data', onData)
            resolve()
          }
        }
        child.stderr.on('data', onData)
        exited.then(() => reject(new Error(`stream exited early: ${stderr}`)))
      })
      const stoppedAt = Date.now()
      await broker.close()
      closed = true
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000)),
      ])
      if (code === 'hung') child.kill('SIGKILL')
      const elapsed = Date.now() - stoppedAt
      expect(code, stderr.slice(-2000)).toBe(4)
      expect(elapsed).toBeLessThan(45_000)
      expect(JSON.parse(stdout).error.code).toBe('UNREACHABLE')
    } finally {
      if (!closed) await broker.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
