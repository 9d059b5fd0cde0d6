import { describe, expect, it } from 'vitest'
import { createLineWriter } from '../../../src/lib/stack/log-writer.js'

/** A file on a disk with `room` bytes left: writes what fits, then ENOSPC. */
function fakeDisk(room: number) {
  const disk = { text: '', room }
  const write = (b: Buffer) => {
    if (disk.room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    const n = Math.min(b.length, disk.room)
    disk.text += b.subarray(0, n).toString()
    disk.room -= n
    return n
  }
  return { disk, write }
}

describe('daemon log writer', () => {
  it('keeps lines that do not fit and writes them, in order, once there is room', () => {
    const { disk, write } = fakeDisk(10)
    const at = new Date('2026-12-05T18:00:00.000Z')
    const log = createLineWriter(write, { now: () => at })
    log('first line')
    // "first line\n" is 11 bytes: 10 fit, the rest waits.
    expect(disk.text).toBe('first line')
    log('storage failure')
    expect(log.backlog).toBe(2)
    disk.room = 1000
    log('storage writable again')
    expect(log.backlog).toBe(0)
    expect(disk.text).toBe(
      'first line\n' +
        '2026-12-05T18:00:00.000Z [log] 1 line(s) from 2026-12-05T18:00:00.000Z could not be written then (ENOSPC); written now\n' +
        'storage failure\n' +
        'storage writable again\n',
    )
  })

  it('never throws, and drops the oldest lines past its backlog bound (and says so)', () => {
    const { disk, write } = fakeDisk(0)
    const log = createLineWriter(write, { maxBacklog: 3, now: () => new Date(0) })
    for (let i = 0; i < 10; i++) expect(() => log(`line ${i}`)).not.toThrow()
    expect(log.backlog).toBe(3)
    disk.room = 1000
    log('back')
    expect(disk.text).toContain('7 older line(s) were dropped')
    expect(disk.text.endsWith('line 7\nline 8\nline 9\nback\n')).toBe(true)
  })
})
