import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { filterLogLines, stackLogs } from '../../../src/lib/stack/logs.js'
import { stackLogPath, writeState } from '../../../src/lib/stack/state.js'
import { fakeSpawner } from './fake-spawner.js'

const LINES = [
  't [daemon] starting',
  't [kafka] info listening',
  't [hdfs] info gateway up',
  't [kafka] info topic',
]

describe('logs', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'game-logs-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const base = (write: (t: string) => void) => ({
    dataDir: dir,
    composeFile: '/c.yml',
    spawner: fakeSpawner(() => ({})),
    write,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  })

  it('filters lines by service tag', () => {
    expect(filterLogLines(LINES, 'kafka')).toEqual([LINES[1], LINES[3]])
    expect(filterLogLines(LINES)).toEqual(LINES)
    expect(filterLogLines(LINES, 'nope')).toEqual([])
  })

  it('no log file: exit 4 with the hint to run game up', async () => {
    const error = await stackLogs(base(() => {})).catch((e) => e)
    expect(error.code).toBe('NO_LOGS')
    expect(error.exitCode).toBe(4)
    expect(error.hint).toContain('game up')
  })

  it('prints the log, the last N lines, one service', async () => {
    mkdirSync(path.dirname(stackLogPath(dir)), { recursive: true })
    writeFileSync(stackLogPath(dir), `${LINES.join('\n')}\n`)
    let out = ''
    const r = await stackLogs({ ...base((t) => (out += t)), service: 'kafka', lines: 1 })
    expect(out).toBe(`${LINES[3]}\n`)
    expect(r).toMatchObject({ mode: 'embedded', lines: 1, service: 'kafka' })
  })

  it('follows appended lines until aborted', async () => {
    mkdirSync(path.dirname(stackLogPath(dir)), { recursive: true })
    writeFileSync(stackLogPath(dir), `${LINES[0]}\n`)
    const controller = new AbortController()
    let out = ''
    let resolveSeen!: () => void
    const seen = new Promise<void>((r) => (resolveSeen = r))
    const done = stackLogs({
      ...base((t) => {
        out += t
        if (out.includes('new line')) resolveSeen()
      }),
      follow: true,
      signal: controller.signal,
    })
    appendFileSync(stackLogPath(dir), 't [kafka] new line\n')
    await seen
    controller.abort()
    await done
    expect(out).toBe(`${LINES[0]}\nt [kafka] new line\n`)
  })

  it('docker mode streams docker compose logs', async () => {
    writeState(dir, {
      version: 1,
      mode: 'docker',
      startedAt: '',
      dataDir: dir,
      composeFile: '/repo/docker-compose.yml',
      services: [],
      addresses: { kafka: 'localhost:9092', hdfs: 'localhost:9870' },
    })
    const spawner = fakeSpawner(() => ({ stdout: 'kafka-1 | hello\n' }))
    const stdout = new PassThrough()
    let text = ''
    stdout.on('data', (d) => (text += d))
    const r = await stackLogs({ ...base(() => {}), spawner, stdout, service: 'kafka', follow: true })
    expect(r.mode).toBe('docker')
    expect(spawner.calls[0].args).toEqual([
      'compose',
      '-f',
      '/repo/docker-compose.yml',
      'logs',
      '--no-color',
      '-f',
      'kafka',
    ])
    expect(text).toBe('kafka-1 | hello\n')
  })
})
