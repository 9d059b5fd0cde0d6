/**
 * #16: after a forced stop the next `game stream` says why joining the group takes long (a member
 * that stopped without leaving is held until its session timeout), and a double Ctrl-C leaves the
 * group on the way out so that the next run does not wait at all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { type Stack, sampleEvents, startStack } from '../lib/stream/fixtures.js'

let stack: Stack
const children = new Set<ChildProcess>()
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await stack?.close()
})

const SESSION_TIMEOUT_S = 15
const args = (name: string) => [
  'stream',
  '--brokers',
  stack.brokers.join(','),
  '--topic',
  name,
  '--lake',
  `${stack.lakeUrl}/${name}`,
  '--group',
  `g-${name}`,
  '--session-timeout',
  `${SESSION_TIMEOUT_S}s`,
  '--interval',
  '1s',
]
const env = () => ({ GAME_HOME: path.join(stack.dir, 'home') })

/** Starts a long-running stream and resolves once it owns the topic's partition. */
async function runningStream(name: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args(name)], {
    cwd: ROOT,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  let err = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      err += d
      if (/partitions \[0\]/.test(err)) resolve()
    })
    void exited.then(() => reject(new Error(`stream exited early: ${err}`)))
  })
  return { child, exited }
}

describe('joining the group after a forced stop (e2e)', () => {
  it('after a kill -9, the next run says what the join waits for and for how long', {
    timeout: 120_000,
  }, async () => {
    const name = 'join-killed'
    await stack.createTopic(name, 1)
    await stack.produce(name, sampleEvents(2))
    const first = await runningStream(name)
    first.child.kill('SIGKILL')
    await first.exited
    const started = Date.now()
    const next = await runCli([...args(name), '--once'], { env: env(), timeoutMs: 90_000 })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).toMatch(
      new RegExp(
        `joining group g-${name}: waiting \\d+\\+? s for the group to rebalance\\. A member that stopped without leaving \\(kill -9, a forced stop\\) holds its partitions until its session timeout \\(${SESSION_TIMEOUT_S} s`,
      ),
    )
    // It did wait for the dead member (that is what it said).
    expect(Date.now() - started).toBeGreaterThan(5_000)
  })

  it('a double Ctrl-C leaves the group: the next run joins at once', { timeout: 120_000 }, async () => {
    const name = 'join-forced'
    await stack.createTopic(name, 1)
    await stack.produce(name, sampleEvents(2))
    const first = await runningStream(name)
    first.child.kill('SIGINT')
    // Two signals at once would be one (a pending signal is not queued twice).
    await new Promise((r) => setTimeout(r, 30))
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(130)
    const started = Date.now()
    const next = await runCli([...args(name), '--once'], { env: env(), timeoutMs: 90_000 })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).not.toMatch(/joining group .* waiting/)
    expect(Date.now() - started).toBeLessThan(SESSION_TIMEOUT_S * 1000)
  })
})
