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

  it('stays within 80 columns: bars shrink, then long labels are cut', () => {
    const bars = [
      { label: 'purchase_sword (Great Sword)', value: 1_234_567 },
      { label: 'a-very-long-player-name-that-goes-on-and-on-and-on.guild.example.com', value: -20 },
      { label: 'x', value: 1 },
    ]
    const out = renderBarChart(bars, { width: 60 })
    const lines = out.split('\n')
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80)
    // labels keep their start and are cut with an ellipsis; the bars still compare
    expect(lines[1]).toMatch(/^a-very-long-player-name-that-go\S*… \| -+ -20$/)
    expect(lines[0]).toMatch(/^purchase_sword \(Great Sword\)\s+\| #{10,} 1,234,567$/)
    expect(lines[2]).toMatch(/\| # 1$/)
    // the same with colour: 80 visible columns
    const visible = renderBarChart(bars, { width: 60, color: true }).replace(/\u001b\[\d+m/g, '')
    for (const line of visible.split('\n')) expect([...line].length).toBeLessThanOrEqual(80)
    // a wider terminal can ask for more
    expect(renderBarChart(bars, { width: 60, maxLineWidth: 200 }).split('\n')[0]).toContain('#'.repeat(60))
  })

  it('is empty for no bars', () => {
    expect(renderBarChart([])).toBe('')
  })
})
