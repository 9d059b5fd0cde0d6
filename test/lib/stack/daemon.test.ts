import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { daemonState, runDaemon } from '../../../src/lib/stack/daemon.js'
import type { DaemonMessage } from '../../../src/lib/stack/spawner.js'
import { readState } from '../../../src/lib/stack/state.js'
import { fakeService, holdPort, tcpProbe } from './fake-services.js'

describe('runDaemon', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'game-daemon-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('starts services, writes the state file, notifies ready; on abort stops them and removes the state', async () => {
    const controller = new AbortController()
    const events: string[] = []
    const messages: DaemonMessage[] = []
    let ready!: () => void
    const readyP = new Promise<void>((r) => (ready = r))
    const done = runDaemon({
      dataDir: dir,
      pid: 4242,
      services: [fakeService('kafka', 0, events), fakeService('hdfs', 0, events)],
      signal: controller.signal,
      notify: (m) => {
        messages.push(m)
        ready()
      },
      log: () => {},
    })
    await readyP
    const msg = messages[0]
    expect(msg.type).toBe('ready')
    if (msg.type !== 'ready') throw new Error('unreachable')
    const state = readState(dir)
    expect(state?.pid).toBe(4242)
    expect(state?.mode).toBe('embedded')
    expect(state?.addresses.kafka).toBe(msg.services[0].address)
    expect(state?.addresses.hdfs).toBe(msg.services[1].address)
    expect((await tcpProbe(msg.services[0].address)).ok).toBe(true)

    controller.abort()
    await done
    expect(events).toEqual(['start kafka', 'start hdfs', 'stop hdfs', 'stop kafka'])
    expect(readState(dir)).toBeUndefined()
    expect((await tcpProbe(msg.services[0].address)).ok).toBe(false)
  })

  it('reports a start failure to the parent and writes no state', async () => {
    const held = await holdPort()
    const messages: DaemonMessage[] = []
    try {
      const error = await runDaemon({
        dataDir: dir,
        pid: 1,
        services: [fakeService('kafka', held.port)],
        signal: new AbortController().signal,
        notify: (m) => messages.push(m),
        log: () => {},
      }).catch((e) => e)
      expect(error.code).toBe('PORT_IN_USE')
      expect(messages).toHaveLength(1)
      expect(messages[0]).toMatchObject({ type: 'error', error: { code: 'PORT_IN_USE', exitCode: 1 } })
      expect(messages[0].type === 'error' && messages[0].error.hint).toContain('--kafka-port')
      expect(readState(dir)).toBeUndefined()
    } finally {
      await held.close()
    }
  })

  it('daemonState records pid, services and addresses', () => {
    const s = daemonState(
      '/d',
      7,
      [
        { name: 'kafka', address: '127.0.0.1:1' },
        { name: 'hdfs', address: '127.0.0.1:2' },
      ],
      new Date('2026-01-02T03:04:05Z'),
    )
    expect(s).toEqual({
      version: 1,
      mode: 'embedded',
      pid: 7,
      startedAt: '2026-01-02T03:04:05.000Z',
      dataDir: '/d',
      services: [
        { name: 'kafka', address: '127.0.0.1:1', pid: 7 },
        { name: 'hdfs', address: '127.0.0.1:2', pid: 7 },
      ],
      addresses: { kafka: '127.0.0.1:1', hdfs: '127.0.0.1:2' },
    })
  })
})
