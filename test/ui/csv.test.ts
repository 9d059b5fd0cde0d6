import { describe, expect, it } from 'vitest'
import { csvField, renderCsv } from '../../src/ui/csv.js'

describe('CSV', () => {
  it('quotes commas, quotes, newlines and edge spaces (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('line\nbreak')).toBe('"line\nbreak"')
    expect(csvField(' pad')).toBe('" pad"')
    expect(csvField(null)).toBe('')
    expect(csvField(7.5)).toBe('7.5')
  })

  it('renders a header and one line per row in column order', () => {
    expect(
      renderCsv(
        ['host', 'sum'],
        [
          { sum: 150, host: 'localhost' },
          { host: 'o,ski', sum: 10000 },
        ],
      ),
    ).toBe('host,sum\nlocalhost,150\n"o,ski",10000\n')
  })
})
