import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'
import {
  MAX_UNKNOWN_NAMES,
  OTHER_FIELDS,
  readUnknownFields,
  UNKNOWN_FIELDS_DIR,
  UnknownFieldCounter,
} from '../../../src/lib/stream/unknown-fields.js'
import { unknownFieldsLine } from '../../../src/ui/stream-summary.js'

describe('UnknownFieldCounter / readUnknownFields', () => {
  let dir: string
  let lake: Lake
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-unknown-'))
    lake = openLake(`file://${dir}`, { hdfsUser: 'game' })
  })
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('counts per name, saves only when something new was counted, and sums runs per topic', async () => {
    const a = new UnknownFieldCounter('t1', 'g')
    await a.save(lake) // nothing counted: no file
    expect(await lake.list(UNKNOWN_FIELDS_DIR)).toEqual([])
    a.note(['platform'])
    a.note(['platform', 'referrer'])
    await a.save(lake)
    const b = new UnknownFieldCounter('t1', 'g')
    b.note(['referrer'])
    b.note(['referrer'])
    b.note(['referrer'])
    await b.save(lake)
    const other = new UnknownFieldCounter('t2', 'g')
    other.note(['platform'])
    await other.save(lake)
    expect(await readUnknownFields(lake, 't1')).toEqual({ referrer: 4, platform: 2 })
    expect(Object.keys(await readUnknownFields(lake, 't1'))).toEqual(['referrer', 'platform'])
    expect(await readUnknownFields(lake, 't2')).toEqual({ platform: 1 })
    // A later save of the same run replaces its file (cumulative counts), it does not add one.
    a.note(['platform'])
    await a.save(lake)
    expect(await readUnknownFields(lake, 't1')).toEqual({ referrer: 4, platform: 3 })
    expect((await lake.list(UNKNOWN_FIELDS_DIR)).length).toBe(3)
    // A file that is not one of ours is skipped.
    await lake.writeFile(`${UNKNOWN_FIELDS_DIR}/junk.json`, '{half')
    expect(await readUnknownFields(lake, 't1')).toEqual({ referrer: 4, platform: 3 })
  })

  it('keeps at most MAX_UNKNOWN_NAMES names; the rest are counted together', () => {
    const c = new UnknownFieldCounter('t', 'g')
    for (let i = 0; i < MAX_UNKNOWN_NAMES + 5; i++) c.note([`f${i}`])
    const fields = c.fields()
    expect(Object.keys(fields)).toHaveLength(MAX_UNKNOWN_NAMES + 1)
    expect(fields[OTHER_FIELDS]).toBe(5)
  })

  it('renders one line for status and the run summary', () => {
    expect(unknownFieldsLine(undefined)).toBe('')
    expect(unknownFieldsLine({})).toBe('')
    expect(unknownFieldsLine({ platform: 12, '': 1 })).toBe(
      'unknown fields seen: platform (12), "" (1); kept in raw_event only (add them to the catalog to get columns)',
    )
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, 1]))
    expect(unknownFieldsLine(many)).toMatch(/f9 \(1\), and 2 more;/)
  })
})
