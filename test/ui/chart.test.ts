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

  it('draws negative values with "-" and zero with no bar', () => {
    const out = renderBarChart(
      [
        { label: 'a', value: -20 },
        { label: 'b', value: 10 },
        { label: 'c', value: 0 },
      ],
      { width: 4 },
    )
    expect(out.split('\n')).toEqual(['a | ---- -20', 'b | ## 10', 'c |  0'])
  })

  it('uses coloured unicode blocks when colour is on', () => {
    const out = renderBarChart(
      [
        { label: 'x', value: 3 },
        { label: 'y', value: -1.5 },
      ],
      { width: 2, color: true },
    )
    expect(out).toContain('\u001b[36m██\u001b[39m')
    expect(out).toContain('\u001b[31m█\u001b[39m')
  })

  it('is empty for no bars', () => {
    expect(renderBarChart([])).toBe('')
  })
})
