import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { nodeSpawner } from '../../../src/lib/stack/spawner.js'
import { dataDirFull, externalServices, servicesFromState, stopStack } from '../../../src/lib/stack/stack.js'
import { readState, type StackStateFile, writeState } from '../../../src/lib/stack/state.js'
import { fakeSpawner } from './fake-spawner.js'

function stateFor(dataDir: string, pid: number): StackStateFile {
  return {
    version: 1,
    mode: 'embedded',
    pid,
    startedAt: new Date().toISOString(),
    dataDir,
    services: [
      { name: 'kafka', address: '127.0.0.1:1111', pid },
      { name: 'hdfs', address: '127.0.0.1:2222', pid },
    ],
    addresses: { kafka: '127.0.0.1:1111', hdfs: '127.0.0.1:2222' },
  }
}

/** A child that ignores SIGTERM (or not) and says when it is ready. */
async function child(ignoreTerm: boolean) {
  const code = ignoreTerm
    ? "process.on('SIGTERM', () => {}); process.send('ready'); setInterval(() => {}, 1000)"
    : "process.send('ready'); setInterval(() => {}, 1000)"
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  await new Promise((r) => c.once('message', r))
  c.disconnect()
  return c
}

describe('stopStack', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'game-stop-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('SIGTERMs the daemon and waits for it', async () => {
    const c = await child(false)
    writeState(dir, stateFor(dir, c.pid!))
    const exited = new Promise((r) => c.once('exit', (_code, signal) => r(signal)))
    const result = await stopStack({ dataDir: dir, composeFile: '/c.yml', spawner: nodeSpawner })
    expect(await exited).toBe('SIGTERM')
    expect(result).toMatchObject({ stopped: 'embedded', pid: c.pid, purged: false })
    expect(result.killed).toBeUndefined()
    expect(readState(dir)).toBeUndefined()
  })

  it('SIGKILLs a daemon that ignores SIGTERM after the timeout', async () => {
    const c = await child(true)
    writeState(dir, stateFor(dir, c.pid!))
    const exited = new Promise((r) => c.once('exit', (_code, signal) => r(signal)))
    const progress: string[] = []
    const result = await stopStack({
      dataDir: dir,
      composeFile: '/c.yml',
      spawner: nodeSpawner,
      timeoutMs: 200,
      onProgress: (l) => progress.push(l),
    })
    expect(await exited).toBe('SIGKILL')
    expect(result.killed).toBe(true)
    expect(progress.some((l) => l.includes('SIGKILL'))).toBe(true)
    expect(readState(dir)).toBeUndefined()
  })

  it('down --docker leaves an embedded stack running and says so (exit 2), calling no compose', async () => {
    const c = await child(false)
    try {
      writeState(dir, stateFor(dir, c.pid!))
      const calls: string[][] = []
      const spawner = {
        ...nodeSpawner,
        run: async (_cmd: string, args: string[]) => {
          calls.push(args)
          return { code: 0, stdout: '', stderr: '' }
        },
      }
      await expect(
        stopStack({ dataDir: dir, composeFile: '/c.yml', spawner, docker: true }),
      ).rejects.toMatchObject({
        code: 'STACK_MODE_MISMATCH',
        exitCode: 2,
        hint: expect.stringContaining('game down'),
      })
      expect(calls).toEqual([])
      expect(nodeSpawner.isAlive(c.pid!)).toBe(true)
      expect(readState(dir)?.pid).toBe(c.pid)
    } finally {
      c.kill('SIGKILL')
    }
  })

  it('a missing compose plugin is named, with how to install it', async () => {
    const spawner = fakeSpawner(() => ({
      code: 125,
      stderr: "unknown shorthand flag: 'f' in -f\nSee 'docker --help'.",
    }))
    await expect(
      stopStack({ dataDir: dir, composeFile: '/c.yml', spawner, docker: true }),
    ).rejects.toMatchObject({
      code: 'COMPOSE_MISSING',
      hint: expect.stringContaining('docker compose version'),
    })
  })

  it('nothing running: stopped null, a stale state file is cleaned', async () => {
    expect(await stopStack({ dataDir: dir, composeFile: '/c.yml', spawner: nodeSpawner })).toMatchObject({
      stopped: null,
      purged: false,
    })
    writeState(dir, stateFor(dir, 2 ** 22 + 12345))
    const progress: string[] = []
    const r = await stopStack({
      dataDir: dir,
      composeFile: '/c.yml',
      spawner: nodeSpawner,
      onProgress: (l) => progress.push(l),
    })
    expect(r.stopped).toBeNull()
    expect(progress[0]).toContain('stale')
    expect(readState(dir)).toBeUndefined()
  })

  it('--purge needs --yes (usage error, exit 2, hint), and then deletes the data dir', async () => {
    const error = await stopStack({
      dataDir: dir,
      purge: true,
      composeFile: '/c.yml',
      spawner: nodeSpawner,
    }).catch((e) => e)
    expect(error.exitCode).toBe(2)
    expect(error.hint).toContain('--purge --yes')
    expect(existsSync(dir)).toBe(true)
    const r = await stopStack({
      dataDir: dir,
      purge: true,
      yes: true,
      composeFile: '/c.yml',
      spawner: nodeSpawner,
    })
    expect(r.purged).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })

  it('--purge refuses the home dir and ancestors of the cwd', async () => {
    for (const bad of [os.homedir(), process.cwd(), path.parse(process.cwd()).root]) {
      const error = await stopStack({
        dataDir: bad,
        purge: true,
        yes: true,
        composeFile: '/c.yml',
        spawner: fakeSpawner(() => ({})),
      }).catch((e) => e)
      expect(error.exitCode).toBe(2)
      expect(error.message).toContain('Refusing')
    }
  })

  it('docker state: compose down (-v with purge) through the spawner', async () => {
    writeState(dir, {
      ...stateFor(dir, 0),
      mode: 'docker',
      pid: undefined,
      composeFile: '/repo/docker-compose.yml',
    })
    const spawner = fakeSpawner(() => ({}))
    const r = await stopStack({ dataDir: dir, composeFile: '/other.yml', spawner })
    expect(r.stopped).toBe('docker')
    expect(spawner.calls[0].args).toEqual(['compose', '-f', '/repo/docker-compose.yml', 'down'])
    expect(readState(dir)).toBeUndefined()
  })
})

describe('services from state / external', () => {
  it('embedded state: probe-able services at the recorded addresses', () => {
    const specs = servicesFromState(stateFor('/d', 1))
    expect(specs.map((s) => [s.name, s.address])).toEqual([
      ['kafka', '127.0.0.1:1111'],
      ['hdfs', '127.0.0.1:2222'],
    ])
    expect(specs.every((s) => s.start === undefined)).toBe(true)
  })

  it('docker state: kafka, hdfs, datanode at the recorded ports', () => {
    const specs = servicesFromState({
      ...stateFor('/d', 1),
      mode: 'docker',
      addresses: { kafka: 'localhost:1', hdfs: 'localhost:2', datanode: 'localhost:3' },
    })
    expect(specs.map((s) => s.address)).toEqual(['localhost:1', 'localhost:2', 'localhost:3'])
  })

  it('external: kafka on the broker list, hdfs only for an hdfs:// lake', () => {
    expect(externalServices(['a:1', 'b:2'], 'hdfs://nn:9870/tmp').map((s) => [s.name, s.address])).toEqual([
      ['kafka', 'a:1,b:2'],
      ['hdfs', 'nn:9870'],
    ])
    expect(externalServices(['a:1'], 'file:///lake').map((s) => s.name)).toEqual(['kafka'])
  })
})

describe('a full data dir at game up', () => {
  it('ENOSPC and EDQUOT become DATA_DIR_FULL naming the dir and df -h; other errors pass through', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const e = dataDirFull(Object.assign(new Error(`${code}: write`), { code }), '/d') as GameError
      expect(e).toBeInstanceOf(GameError)
      expect(e.code).toBe('DATA_DIR_FULL')
      expect(e.exitCode).toBe(1)
      expect(e.message).toBe(`No space left for the stack in /d (${code})`)
      expect(e.hint).toContain('`df -h /d`')
    }
    const other = Object.assign(new Error('EACCES'), { code: 'EACCES' })
    expect(dataDirFull(other, '/d')).toBe(other)
  })
})
