import { afterEach, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import {
  probeServices,
  type RunningService,
  startServices,
  stopServices,
  waitHealthy,
} from '../../../src/lib/stack/supervisor.js'
import { fakeService, holdPort, tcpProbe } from './fake-services.js'

describe('supervisor', () => {
  let running: RunningService[] = []
  afterEach(async () => {
    await stopServices(running)
    running = []
  })

  it('starts services in order, resolves port 0, stops in reverse order', async () => {
    const events: string[] = []
    const progress: string[] = []
    running = await startServices([fakeService('kafka', 0, events), fakeService('hdfs', 0, events)], (l) =>
      progress.push(l),
    )
    expect(running.map((s) => s.name)).toEqual(['kafka', 'hdfs'])
    for (const s of running) expect(s.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/)
    expect(progress[0]).toBe(`kafka listening on ${running[0].address}`)
    const probes = await probeServices(running.map((s) => ({ ...s, probe: tcpProbe })))
    expect(probes.every((p) => p.ok)).toBe(true)
    await stopServices(running)
    running = []
    expect(events).toEqual(['start kafka', 'start hdfs', 'stop hdfs', 'stop kafka'])
  })

  it('a taken port: PORT_IN_USE naming the port and the flag, earlier services stopped', async () => {
    const held = await holdPort()
    const events: string[] = []
    try {
      const error = await startServices([
        fakeService('kafka', 0, events),
        fakeService('hdfs', held.port, events),
      ]).catch((e) => e)
      expect(error).toBeInstanceOf(GameError)
      expect(error.code).toBe('PORT_IN_USE')
      expect(error.exitCode).toBe(1)
      expect(error.message).toContain(String(held.port))
      expect(error.hint).toContain('--hdfs-port')
      expect(events).toEqual(['start kafka', 'stop kafka'])
    } finally {
      await held.close()
    }
  })

  it('stops every service even when one stop fails', async () => {
    const stopped: string[] = []
    const errors = await stopServices([
      { name: 'a', address: '', stop: async () => void stopped.push('a') },
      {
        name: 'b',
        address: '',
        stop: async () => {
          throw new Error('boom')
        },
      },
      { name: 'c', address: '', stop: async () => void stopped.push('c') },
    ])
    expect(stopped).toEqual(['c', 'a'])
    expect(errors.map((e) => e.message)).toEqual(['boom'])
  })

  it('waitHealthy returns once every probe is ok, reporting each service once', async () => {
    let calls = 0
    const progress: string[] = []
    const results = await waitHealthy(
      [
        { name: 'kafka', address: 'k:1', probe: async () => ({ ok: true, detail: '' }) },
        { name: 'hdfs', address: 'h:1', probe: async () => ({ ok: ++calls >= 3, detail: 'not yet' }) },
      ],
      { timeoutMs: 5000, intervalMs: 1, onProgress: (l) => progress.push(l) },
    )
    expect(results.every((r) => r.ok)).toBe(true)
    expect(calls).toBe(3)
    expect(progress.filter((l) => l.includes('answering'))).toEqual([
      'kafka is answering on k:1',
      'hdfs is answering on h:1',
    ])
  })

  it('waitHealthy times out with UNREACHABLE (exit 4) naming the service that is down', async () => {
    const error = await waitHealthy(
      [
        { name: 'kafka', address: 'k:1', probe: async () => ({ ok: true, detail: '' }) },
        { name: 'hdfs', address: 'h:9', probe: async () => ({ ok: false, detail: 'ECONNREFUSED' }) },
      ],
      { timeoutMs: 30, intervalMs: 5, hint: 'see logs' },
    ).catch((e) => e)
    expect(error).toBeInstanceOf(GameError)
    expect(error.exitCode).toBe(4)
    expect(error.message).toBe('hdfs at h:9 is not reachable')
    expect(error.hint).toBe('see logs')
  })

  it('a probe that throws counts as down', async () => {
    const [r] = await probeServices([
      {
        name: 'x',
        address: 'x:1',
        probe: async () => {
          throw new Error('kaput')
        },
      },
    ])
    expect(r).toMatchObject({ ok: false, detail: 'kaput' })
    expect(r.latencyMs).toBeGreaterThanOrEqual(0)
  })
})

describe('waitHealthy abort', () => {
  it('an abort while waiting rejects with the signal reason', async () => {
    const controller = new AbortController()
    const reason = new Error('interrupted by test')
    const p = waitHealthy(
      [{ name: 'x', address: 'x:1', probe: async () => ({ ok: false, detail: 'down' }) }],
      {
        timeoutMs: 60_000,
        intervalMs: 10_000,
        signal: controller.signal,
      },
    )
    setImmediate(() => controller.abort(reason))
    await expect(p).rejects.toBe(reason)
  })
})
