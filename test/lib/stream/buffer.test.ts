import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { routeMessage } from '../../../src/lib/events/route.js'
import { RowBuffer } from '../../../src/lib/stream/buffer.js'
import { addRows } from '../../helpers/rows.js'

const meta = (offset: number, partition = 0) => ({
  topic: 't',
  partition,
  offset: String(offset),
  timestamp: Date.UTC(2026, 10, 28),
})

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-buffer-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function lines(files: string[]): Promise<string[]> {
  const out: string[] = []
  for (const f of files) out.push(...(await readFile(f, 'utf8')).split('\n').filter(Boolean))
  return out
}

describe('RowBuffer', () => {
  it('serializes a row once for both of its tables and groups by table and date', async () => {
    const b = new RowBuffer(dir)
    const sword = routeMessage(
      JSON.stringify({ event_type: 'purchase_sword', amount: -10, description: 'x', Host: 'h' }),
      meta(0),
    )
    addRows(b, 0, sword.rows)
    await b.spill()
    const nextDay = routeMessage(
      JSON.stringify({ event_type: 'add_money', amount: 5, received_at: '2026-11-29T00:00:01Z' }),
      meta(1),
    )
    addRows(b, 0, nextDay.rows)
    expect(b.rows).toBe(4)
    const gen = b.cut()
    expect(b.isEmpty).toBe(true)
    expect(b.bytes).toBe(0)
    const batches = await b.finish(gen)
    expect(batches.map((x) => `${x.table}/${x.dt}/${x.rows}`)).toEqual([
      'add_money/2026-11-29/1',
      'purchases/2026-11-28/1',
      'transactions/2026-11-28/1',
      'transactions/2026-11-29/1',
    ])
    const [p] = await lines(batches[1].files)
    const [t] = await lines(batches[2].files)
    expect(p).toBe(t)
    expect(JSON.parse(p)).toMatchObject({ amount: -10, Host: 'h', dt: '2026-11-28' })
    await b.discard(gen)
    await expect(stat(gen.dir)).rejects.toThrow()
  })

  it('keeps partitions in separate files, merges them per table, and drops a revoked partition', async () => {
    const b = new RowBuffer(dir)
    const msg = (o: number) =>
      routeMessage(JSON.stringify({ event_type: 'join_guild', guild_name: `g${o}` }), meta(o)).rows
    addRows(b, 0, msg(0))
    addRows(b, 1, msg(1))
    await b.spill()
    addRows(b, 2, msg(2))
    addRows(b, 1, msg(3))
    const bytesBefore = b.bytes
    expect(b.dropPartition(1)).toBe(2)
    expect(b.dropPartition(7)).toBe(0)
    expect(b.rows).toBe(2)
    expect(b.bytes).toBeLessThan(bytesBefore)
    const [batch] = await b.finish(b.cut())
    expect(batch.rows).toBe(2)
    expect(batch.files).toHaveLength(2)
    expect((await lines(batch.files)).map((l) => JSON.parse(l).guild_name).sort()).toEqual(['g0', 'g2'])
  })

  it('rows added after a cut go to the next generation', async () => {
    const b = new RowBuffer(dir)
    const msg = (o: number) =>
      routeMessage(JSON.stringify({ event_type: 'mensaje', message_post: `m${o}` }), meta(o)).rows
    addRows(b, 0, msg(0))
    const first = b.cut()
    addRows(b, 0, msg(1))
    const [a] = await b.finish(first)
    const [c] = await b.finish(b.cut())
    expect((await lines(a.files)).map((l) => JSON.parse(l).message_post)).toEqual(['m0'])
    expect((await lines(c.files)).map((l) => JSON.parse(l).message_post)).toEqual(['m1'])
  })

  it('ignores messages without rows (default events)', async () => {
    const b = new RowBuffer(dir)
    addRows(b, 0, routeMessage(JSON.stringify({ event_type: 'default' }), meta(0)).rows)
    expect(b.isEmpty).toBe(true)
    expect(await b.finish(b.cut())).toEqual([])
  })

  it('addLine: same bytes in every table, across chunk boundaries, partitions, days and spills', async () => {
    const b = new RowBuffer(dir)
    const want = new Map<string, string[]>()
    const expectLine = (p: number, tables: string[], dt: string, line: string) => {
      for (const t of tables) {
        const k = `${t}/${dt}`
        want.set(k, [...(want.get(k) ?? []), line])
      }
      b.addLine(p, tables as never, dt, line)
    }
    for (let i = 0; i < 3000; i++) {
      // Lines of all sizes (some longer than a 256 KiB chunk), non-ASCII, several days and partitions.
      const size = i % 500 === 7 ? 300_000 : (i * 37) % 400
      const line = JSON.stringify({ i, s: `${'x'.repeat(size)}é😀\u2028` })
      const dt = i % 300 < 150 ? '2026-11-28' : '2026-11-29'
      expectLine(i % 3, i % 2 ? ['purchases', 'transactions'] : ['messages'], dt, line)
      if (i % 700 === 0) await b.spill()
    }
    const batches = await b.finish(b.cut())
    expect(batches.map((x) => `${x.table}/${x.dt}`).sort()).toEqual([...want.keys()].sort())
    for (const batch of batches) {
      const got = await lines(batch.files)
      const expected = want.get(`${batch.table}/${batch.dt}`) ?? []
      // Files are per partition; within a partition the order is kept.
      const byI = (l: string) => JSON.parse(l).i as number
      expect(got.map(byI).sort((x, y) => x - y)).toEqual(expected.map(byI))
      expect(new Set(got)).toEqual(new Set(expected))
      expect(batch.rows).toBe(expected.length)
    }
  })
})
