import { describe, expect, it } from 'vitest'
import { renderBarChart } from '../../src/ui/chart.js'

describe('renderBarChart', () => {
  it('scales bars to the largest value, pads labels, prints values', () => {
    const out = renderBarChart(
      [
        { label: 'oski.berkeley.edu', value: 9830 },
        { label: 'localhost', value: 4915 },
        { label: 'tree', value: 1 },
      ],
      { width: 10 },
    )
    expect(out.split('\n')).toEqual([
      'oski.berkeley.edu | ########## 9,830',
      'localhost         | ##### 4,915',
      'tree              | # 1',
    ])
    expect(out).not.toMatch(/\u001b\[/)
  })

  it('draws negative values left of a zero axis, on the same scale, and zero with no bar', () => {
    const out = renderBarChart(
      [
        { label: 'a', value: -20 },
        { label: 'b', value: 10 },
        { label: 'c', value: 0 },
      ],
      { width: 4 },
    )
    expect(out.split('\n')).toEqual(['a ###| -20', 'b    |# 10', 'c    | 0'])
    // A negative balance can never look like a small positive one, even piped (no colour).
    const piped = renderBarChart(
      [
        { label: 'rich', value: 9830 },
        { label: 'debt', value: -20 },
      ],
      { width: 20 },
    )
    expect(piped.split('\n')[1]).toMatch(/^debt\s+#\| -20$/)
    expect(piped.split('\n')[0]).toMatch(/^rich\s+\|#{19} 9,830$/)
  })

  it('uses coloured unicode blocks when colour is on', () => {
    const out = renderBarChart(
      [
        { label: 'x', value: 3 },
        { label: 'y', value: -1.5 },
      ],
      { width: 3, color: true },
    )
    // 3 columns over 4.5 units: the axis sits after 1 column; 3 -> 2 cells right, -1.5 -> 1 cell left.
    expect(out.split('\n')).toEqual(['x  |\u001b[36m██\u001b[39m 3', 'y \u001b[31m█\u001b[39m| -1.5'])
  })

  it('is empty for no bars', () => {
    expect(renderBarChart([])).toBe('')
  })
})
