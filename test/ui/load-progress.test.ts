import { render } from 'ink-testing-library'
import { createElement } from 'react'
import { describe, expect, it } from 'vitest'
import type { LoadProgress } from '../../src/lib/load/runner.js'
import { LoadProgressView } from '../../src/ui/load-progress.js'

const progress: LoadProgress = {
  model: 'open',
  phase: 1,
  phases: 2,
  done: 50,
  total: 200,
  elapsedMs: 1500,
  rps: 33,
  p99: 12.345,
  errors: 2,
  late: 3,
}

describe('LoadProgressView', () => {
  it('draws a bar with counts, req/s, errors and phase', () => {
    const { lastFrame, rerender, unmount } = render(createElement(LoadProgressView, {}))
    expect(lastFrame()).toContain('connecting')
    rerender(createElement(LoadProgressView, { progress }))
    const frame = lastFrame() ?? ''
    expect(frame).toContain('50/200')
    expect(frame).toContain('33 req/s')
    expect(frame).toContain('2 errors')
    expect(frame).toContain('p99 12.35 ms')
    expect(frame).toContain('(last 1s)')
    expect(frame).toContain('3 late')
    expect(frame).toContain('phase 1/2')
    expect(frame).toContain('█'.repeat(8))
    unmount()
  })

  it('by time when the total is unknown (-d)', () => {
    const { lastFrame, unmount } = render(
      createElement(LoadProgressView, {
        progress: { ...progress, phases: 1, total: undefined, elapsedMs: 3000, durationMs: 10_000 },
      }),
    )
    expect(lastFrame()).toContain('3s/10s')
    expect(lastFrame()).not.toContain('phase')
    unmount()
  })

  it('the closed model shows no late count; the final frame says whole run', () => {
    const { lastFrame, unmount } = render(
      createElement(LoadProgressView, { progress: { ...progress, model: 'closed', final: true } }),
    )
    expect(lastFrame()).not.toContain('late')
    expect(lastFrame()).toContain('(whole run)')
    unmount()
  })
})
