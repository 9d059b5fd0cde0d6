import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeStaleScratch } from '../../../src/lib/stream/stream.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'game-scratch-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('removeStaleScratch', () => {
  it("removes a killed stream's scratch, keeps a live one's and ones it cannot attribute", async () => {
    // A pid that surely ran and ended: a child that exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!
    const make = (name: string, pid?: number) => {
      mkdirSync(path.join(dir, name, 'buffer'), { recursive: true })
      writeFileSync(path.join(dir, name, 'buffer', 'rows.csv'), 'x'.repeat(1000))
      if (pid !== undefined) writeFileSync(path.join(dir, name, 'pid'), String(pid))
    }
    make('game-stream-dead', dead)
    make('game-stream-live', process.pid)
    make('game-stream-old')
    make('other-dir', dead)
    const removed = await removeStaleScratch(dir)
    expect(removed).toEqual([path.join(dir, 'game-stream-dead')])
    expect(existsSync(path.join(dir, 'game-stream-dead'))).toBe(false)
    expect(existsSync(path.join(dir, 'game-stream-live'))).toBe(true)
    expect(existsSync(path.join(dir, 'game-stream-old'))).toBe(true)
    expect(existsSync(path.join(dir, 'other-dir'))).toBe(true)
  })
})
