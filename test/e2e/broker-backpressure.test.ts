import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Slow readers cannot run the broker's memory up (issue 12): 40 real kcat consumers ask for 50 MB
 * fetches and are then stopped (SIGSTOP) while their responses are being sent. The broker, in its
 * own process, stays under 300 MB RSS, and another client is still served.
 */

const here = path.dirname(fileURLToPath(import.meta.url))
const hasKcat = ['/usr/bin/kcat', '/usr/local/bin/kcat'].some(existsSync)
const CONSUMERS = 40
const MB = 1024 * 1024

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = probe()
      if (v !== undefined) return resolve(v)
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(tick, 50)
    }
    tick()
  })
}

describe.skipIf(!hasKcat)('broker backpressure on stalled consumers (real kcat processes)', () => {
  let dir: string
  let broker: ChildProcess
  let port: number
  const consumers: ChildProcess[] = []

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'game-backpressure-'))
    broker = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, '../lib/broker/fixtures/broker-child.ts'), dir],
      {
        env: { ...process.env, BROKER_CHILD_FSYNC: 'interval' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    broker.stdout!.on('data', (d) => (out += d))
    port = await waitFor(
      'the broker',
      () => (out.includes('\n') ? JSON.parse(out.split('\n')[0]).port : undefined),
      30_000,
    )
    // 64 MB in one partition: 1 KB values, produced by kcat itself.
    const line = `${'v'.repeat(1023)}\n`
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        'kcat',
        ['-b', `127.0.0.1:${port}`, '-P', '-t', 'bp', '-p', '0', '-X', 'linger.ms=50'],
        {
          stdio: ['pipe', 'ignore', 'inherit'],
        },
      )
      p.on('error', reject)
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}`))))
      const chunk = line.repeat(1024)
      let left = 64
      const write = () => {
        while (left > 0) {
          left--
          if (!p.stdin!.write(chunk)) return p.stdin!.once('drain', write)
        }
        p.stdin!.end()
      }
      write()
    })
  }, 120_000)

  afterAll(async () => {
    for (const c of consumers) c.kill('SIGKILL')
    if (broker && broker.exitCode === null) {
      const exited = new Promise((r) => broker.once('exit', r))
      broker.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps the broker under 300 MB RSS with 40 stalled 50 MB fetches, and serves another client', async () => {
    const before = rssMb(broker.pid!)
    let started = 0
    for (let i = 0; i < CONSUMERS; i++) {
      const c = spawn(
        'kcat',
        [
          '-b',
          `127.0.0.1:${port}`,
          '-C',
          '-t',
          'bp',
          '-p',
          '0',
          '-o',
          'beginning',
          '-q',
          '-X',
          `fetch.max.bytes=${50 * MB}`,
          '-X',
          `max.partition.fetch.bytes=${50 * MB}`,
          '-X',
          `receive.message.max.bytes=${60 * MB}`,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      )
      consumers.push(c)
      // Stop it once it has received data: its next 50 MB fetch is then in flight to a reader that
      // no longer reads.
      c.stdout!.once('data', () => {
        c.kill('SIGSTOP')
        started++
      })
    }
    await waitFor('every consumer to receive data', () => (started === CONSUMERS ? true : undefined), 60_000)
    // Give the broker time to try to send everything it was asked for.
    await new Promise((r) => setTimeout(r, 3000))
    const during = rssMb(broker.pid!)
    console.error(
      `broker RSS: ${before.toFixed(0)} MB before, ${during.toFixed(0)} MB with ${CONSUMERS} stalled consumers`,
    )
    expect(during).toBeLessThan(300)

    // Another client is served promptly: the last 5 records.
    const tail = await new Promise<string>((resolve, reject) => {
      const k = spawn(
        'kcat',
        ['-b', `127.0.0.1:${port}`, '-C', '-t', 'bp', '-p', '0', '-o', '-5', '-e', '-q'],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      )
      let out = ''
      const timer = setTimeout(() => {
        k.kill('SIGKILL')
        reject(new Error('the other client was not served within 15 s'))
      }, 15_000)
      k.stdout!.on('data', (d) => (out += d))
      k.on('close', () => {
        clearTimeout(timer)
        resolve(out)
      })
    })
    expect(tail.trim().split('\n')).toHaveLength(5)
  }, 120_000)
})
