import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GameError } from '../../../src/lib/errors.js'
import { acquireStartLock, startLockPath } from '../../../src/lib/stack/stack.js'

let dir: string
const lines: string[] = []
const progress = (l: string) => lines.push(l)
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'game-lock-'))
  lines.length = 0
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('the game up start lock', () => {
  it('is exclusive while its holder lives, and released after', () => {
    const alive = { isAlive: () => true }
    const release = acquireStartLock(dir, alive, progress)
    expect(readFileSync(startLockPath(dir), 'utf8')).toBe(String(process.pid))
    let error: unknown
    try {
      acquireStartLock(dir, alive, progress)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GameError)
    expect((error as GameError).code).toBe('STACK_STARTING')
    expect((error as GameError).message).toContain(`pid ${process.pid}`)
    expect((error as GameError).hint).toContain('game status')
    release()
    expect(existsSync(startLockPath(dir))).toBe(false)
    acquireStartLock(dir, alive, progress)()
  })

  it('takes over a lock whose holder is gone', () => {
    writeFileSync(startLockPath(dir), '999999')
    const release = acquireStartLock(dir, { isAlive: (pid) => pid !== 999999 }, progress)
    expect(readFileSync(startLockPath(dir), 'utf8')).toBe(String(process.pid))
    expect(lines.join('\n')).toContain('stale start lock (pid 999999')
    release()
  })

  it('treats an unreadable pid as stale', () => {
    writeFileSync(startLockPath(dir), 'garbage')
    acquireStartLock(dir, { isAlive: () => true }, progress)()
    expect(existsSync(startLockPath(dir))).toBe(false)
  })
})
