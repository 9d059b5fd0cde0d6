import { mkdtemp, rm, utimes } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import { claimRange, cleanClaims, releaseClaim } from '../../../src/lib/lake/claims.js'
import { claimPath } from '../../../src/lib/lake/layout.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'

let dir: string
let gateway: WebHdfsGateway
const lakes: { name: string; lake: Lake; local: (p: string) => string }[] = []

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'game-claims-'))
  gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
  const fileRoot = path.join(dir, 'file-lake')
  lakes.push({
    name: 'file',
    lake: openLake(pathToFileURL(fileRoot).href, { hdfsUser: 'game' }),
    local: (p) => path.join(fileRoot, p),
  })
  lakes.push({
    name: 'webhdfs',
    lake: openLake(`hdfs://127.0.0.1:${gateway.port}/tmp`, { hdfsUser: 'game' }),
    local: (p) => path.join(dir, 'hdfs', 'tmp', p),
  })
})
afterAll(async () => {
  await gateway?.close()
  await rm(dir, { recursive: true, force: true })
})

const ctx = (resume?: bigint) => ({ leaseMs: 10_000, now: () => Date.now(), lakeResume: async () => resume })
const ageBy = async (file: string, ms: number) => {
  const t = new Date(Date.now() - ms)
  await utimes(file, t, t)
}

describe.each(['file', 'webhdfs'])('partition claims on a %s lake', (kind) => {
  const get = () => lakes.find((l) => l.name === kind) as (typeof lakes)[number]

  it('lets exactly one of many concurrent writers claim a (partition, base)', async () => {
    const { lake } = get()
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimRange(lake, { topic: 'race', partition: 0, base: 40n, commitId: `c${i}` }, ctx()),
      ),
    )
    expect(results.filter((r) => r !== undefined)).toEqual([claimPath('race', 0, '00000000000000000040', 0)])
    // Another base of the same partition is another claim.
    expect(
      await claimRange(lake, { topic: 'race', partition: 0, base: 41n, commitId: 'x' }, ctx()),
    ).toBeDefined()
    // A partition the lake has no offset for: the `init` base.
    expect(
      await claimRange(lake, { topic: 'race', partition: 1, base: undefined, commitId: 'y' }, ctx()),
    ).toBe(claimPath('race', 1, 'init', 0))
    expect(
      await claimRange(lake, { topic: 'race', partition: 1, base: undefined, commitId: 'z' }, ctx()),
    ).toBe(undefined)
  })

  it('supersedes an orphan older than the lease, never a spent claim or a young one', async () => {
    const { lake, local } = get()
    const req = { topic: 'orphan', partition: 2, base: 7n, commitId: 'a' }
    const first = (await claimRange(lake, req, ctx())) as string
    expect(first).toBeDefined()
    expect(await claimRange(lake, { ...req, commitId: 'b' }, ctx())).toBeUndefined()
    await ageBy(local(first), 60_000)
    // Old, but the lake moved past base 7: it was committed.
    expect(await claimRange(lake, { ...req, commitId: 'b' }, ctx(9n))).toBeUndefined()
    // Old and the lake still resumes at 7: its writer died before committing.
    expect(await claimRange(lake, { ...req, commitId: 'b' }, ctx(7n))).toBe(
      claimPath('orphan', 2, '00000000000000000007', 1),
    )
    // A released claim can be taken again.
    await releaseClaim(lake, first)
    expect(await claimRange(lake, { ...req, commitId: 'c' }, ctx(7n))).toBe(first)
  })

  it('cleans up spent claims older than the grace, and nothing else', async () => {
    const { lake, local } = get()
    const spentOld = (await claimRange(
      lake,
      { topic: 'gc', partition: 0, base: 1n, commitId: 'a' },
      ctx(),
    )) as string
    const spentYoung = (await claimRange(
      lake,
      { topic: 'gc', partition: 0, base: 2n, commitId: 'b' },
      ctx(),
    )) as string
    const current = (await claimRange(
      lake,
      { topic: 'gc', partition: 0, base: 3n, commitId: 'c' },
      ctx(),
    )) as string
    const initOld = (await claimRange(
      lake,
      { topic: 'gc', partition: 1, base: undefined, commitId: 'd' },
      ctx(),
    )) as string
    const otherOld = (await claimRange(
      lake,
      { topic: 'gc', partition: 2, base: undefined, commitId: 'e' },
      ctx(),
    )) as string
    for (const p of [spentOld, current, initOld, otherOld]) await ageBy(local(p), 120_000)
    const deleted = await cleanClaims(
      lake,
      'gc',
      new Map([
        [0, 3n],
        [1, 5n],
      ]),
      60_000,
      Date.now(),
    )
    expect(deleted.sort()).toEqual([spentOld, initOld].sort())
    for (const p of [spentYoung, current, otherOld]) expect(await lake.stat(p)).toBeDefined()
  })
})
