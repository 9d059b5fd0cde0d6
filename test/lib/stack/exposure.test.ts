/** A non-loopback bind is never silent: status shows where the stack really listens and warns. */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runDaemon } from '../../../src/lib/stack/daemon.js'
import { runDoctor } from '../../../src/lib/stack/doctor.js'
import { embeddedServices } from '../../../src/lib/stack/embedded.js'
import { exposureWarning, isLoopbackHost } from '../../../src/lib/stack/exposure.js'
import { stackStatus } from '../../../src/lib/stack/stack.js'
import { statusRows } from '../../../src/ui/status.js'
import { fakeSpawner } from './fake-spawner.js'

describe('exposure', () => {
  it('tells loopback from everything else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h)).toBe(true)
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '10.0.0.1', 'localhost.evil.example'])
      expect(isLoopbackHost(h)).toBe(false)
    expect(exposureWarning('127.0.0.1', 'x')).toBeUndefined()
    expect(exposureWarning('0.0.0.0', 'x')).toContain('EVERY network interface')
  })

  it('game doctor warns about a non-loopback bind (and says nothing for loopback)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-exposure-doc-'))
    try {
      const base = {
        dataDir: path.join(dir, 'data'),
        nodeVersion: '20.19.0',
        ports: [],
        apiUrl: 'http://127.0.0.1:1',
        lake: `file://${dir}`,
        spawner: fakeSpawner(() => ({ code: 1 })),
      }
      const exposed = await runDoctor({ ...base, bind: '0.0.0.0' })
      expect(exposed.checks.find((c) => c.name === 'bind')?.detail).toContain('EVERY network interface')
      const local = await runDoctor({ ...base, bind: '127.0.0.1' })
      expect(local.checks.find((c) => c.name === 'bind')).toBeUndefined()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('game status on a stack bound to 0.0.0.0 shows 0.0.0.0 and warns', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'game-exposure-'))
    const controller = new AbortController()
    let ready!: () => void
    const readyP = new Promise<void>((r) => (ready = r))
    const done = runDaemon({
      dataDir: dir,
      pid: process.pid,
      bind: '0.0.0.0',
      services: embeddedServices({
        dataDir: dir,
        bind: '0.0.0.0',
        kafkaPort: 0,
        hdfsPort: 0,
        hdfsUser: 'game',
      }),
      signal: controller.signal,
      notify: () => ready(),
      log: () => {},
    })
    try {
      await readyP
      const spawner = { ...fakeSpawner(() => ({})), isAlive: (pid: number) => pid === process.pid }
      const result = await stackStatus({ dataDir: dir, spawner, topics: false })
      expect(result.bind).toBe('0.0.0.0')
      expect(result.warnings?.[0]).toContain('EVERY network interface')
      for (const s of result.services) expect(s.listen).toMatch(/^0\.0\.0\.0:\d+$/)
      expect(String(statusRows(result)[0][1])).toContain('listening on 0.0.0.0:')
    } finally {
      controller.abort()
      await done
      await rm(dir, { recursive: true, force: true })
    }
  })
})
