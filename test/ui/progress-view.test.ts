import { describe, expect, it } from 'vitest'
import { progressView } from '../../src/ui/progress-view.js'

describe('progressView', () => {
  it('writes plain lines only when they change, and never loads the live view when not live', async () => {
    const lines: string[] = []
    let loaded = false
    const sink = await progressView<number>({
      live: false,
      view: async () => {
        loaded = true
        throw new Error('must not load ink when not live')
      },
      plainLine: (n) => `stream: ${n} events`,
      write: (l) => lines.push(l),
    })
    for (const n of [1, 1, 1, 2, 2, 3]) sink.update(n)
    sink.done()
    expect(lines).toEqual(['stream: 1 events', 'stream: 2 events', 'stream: 3 events'])
    expect(loaded).toBe(false)
  })

  it('repeats an unchanged line as a heartbeat once heartbeatMs has passed', async () => {
    const lines: string[] = []
    const sink = await progressView<string>({
      live: false,
      view: async () => {
        throw new Error('not live')
      },
      plainLine: (s) => s,
      write: (l) => lines.push(l),
      heartbeatMs: 0,
    })
    sink.update('idle')
    sink.update('idle')
    expect(lines).toEqual(['idle', 'idle'])
  })
})
