import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  assessState,
  readState,
  removeState,
  type StackStateFile,
  statePath,
  writeState,
} from '../../../src/lib/stack/state.js'

const sample = (dataDir: string, pid?: number): StackStateFile => ({
  version: 1,
  mode: 'embedded',
  pid,
  startedAt: '2026-01-01T00:00:00.000Z',
  dataDir,
  services: [
    { name: 'kafka', address: '127.0.0.1:9092', pid },
    { name: 'hdfs', address: '127.0.0.1:9870', pid },
  ],
  addresses: { kafka: '127.0.0.1:9092', hdfs: '127.0.0.1:9870' },
})

describe('state file', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'game-state-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('round-trips through <dataDir>/stack.json', async () => {
    writeState(dir, sample(dir, 123))
    expect(statePath(dir)).toBe(path.join(dir, 'stack.json'))
    expect(readState(dir)).toEqual(sample(dir, 123))
    const onDisk = JSON.parse(await readFile(statePath(dir), 'utf8'))
    expect(onDisk.addresses).toEqual({ kafka: '127.0.0.1:9092', hdfs: '127.0.0.1:9870' })
  })

  it('treats a missing or corrupt file as no stack', async () => {
    expect(readState(dir)).toBeUndefined()
    await writeFile(statePath(dir), '{not json')
    expect(readState(dir)).toBeUndefined()
    await writeFile(statePath(dir), JSON.stringify({ mode: 'weird' }))
    expect(readState(dir)).toBeUndefined()
  })

  it('removes only its own state when a pid is given', () => {
    writeState(dir, sample(dir, 111))
    expect(removeState(dir, 222)).toBe(false)
    expect(readState(dir)?.pid).toBe(111)
    expect(removeState(dir, 111)).toBe(true)
    expect(readState(dir)).toBeUndefined()
    expect(removeState(dir)).toBe(false)
  })
})

describe('assessState', () => {
  const alive = new Set([10])
  const isAlive = (pid: number) => alive.has(pid)

  it('no file: none', () => {
    expect(assessState(undefined, isAlive)).toEqual({ kind: 'none' })
  })
  it('live pid: running', () => {
    expect(assessState(sample('/d', 10), isAlive).kind).toBe('running')
  })
  it('dead pid: stale, saying which pid', () => {
    const a = assessState(sample('/d', 11), isAlive)
    expect(a.kind).toBe('stale')
    expect(a.kind === 'stale' && a.reason).toContain('11')
  })
  it('embedded without pid: stale', () => {
    expect(assessState(sample('/d'), isAlive).kind).toBe('stale')
  })
  it('docker: trusted without a pid', () => {
    expect(assessState({ ...sample('/d'), mode: 'docker' }, isAlive).kind).toBe('running')
  })
})
