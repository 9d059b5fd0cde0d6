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
    expect(lines[1]).toMatch(/^a-very-long-player-name-that-go\S*… #+\| -20$/)
    expect(lines[0]).toMatch(/^purchase_sword \(Great Sword\)\s+\|#{9,} 1,234,567$/)
    expect(lines[2]).toMatch(/\|# 1$/)
    // the same with colour: 80 visible columns
    const visible = renderBarChart(bars, { width: 60, color: true }).replace(/\u001b\[\d+m/g, '')
    for (const line of visible.split('\n')) expect([...line].length).toBeLessThanOrEqual(80)
    // a wider terminal can ask for more
    expect(renderBarChart(bars, { width: 60, maxLineWidth: 200 }).split('\n')[0]).toContain('#'.repeat(55))
  })

  it('is empty for no bars', () => {
    expect(renderBarChart([])).toBe('')
  })
})
