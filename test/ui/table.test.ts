import { describe, expect, it } from 'vitest'
import { renderTable } from '../../src/ui/table.js'
import { colorEnabled, isInteractive } from '../../src/ui/terminal.js'

describe('renderTable', () => {
  it('renders plain ASCII without escape codes when not coloured', () => {
    const out = renderTable(
      ['host', 'balance'],
      [
        ['oski.berkeley.edu', 9830],
        ['localhost', null],
      ],
      { alignRight: [1] },
    )
    expect(out).not.toMatch(/\u001b\[/)
    expect(out).toContain('| oski.berkeley.edu |    9830 |')
    expect(out.split('\n')).toHaveLength(5)
  })
})

describe('terminal detection', () => {
  it('is interactive only on a TTY, without CI, with a real TERM', () => {
    expect(isInteractive({ isTTY: true }, { TERM: 'xterm' })).toBe(true)
    expect(isInteractive({ isTTY: true }, { TERM: 'xterm', CI: '1' })).toBe(false)
    expect(isInteractive({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
    expect(isInteractive({ isTTY: false }, {})).toBe(false)
    expect(colorEnabled({ isTTY: true }, { TERM: 'xterm', NO_COLOR: '' })).toBe(false)
  })
})
