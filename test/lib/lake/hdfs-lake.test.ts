import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { startWebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import type { HdfsLake } from '../../../src/lib/lake/hdfs-lake.js'
import { openLake } from '../../../src/lib/lake/open.js'
import { lakeContract } from './open-lake-contract.js'

async function gatewayLake(lakePath = '/tmp') {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-hdfs-lake-'))
  const gw = await startWebHdfsGateway({ port: 0, root: dir })
  const lake = openLake(`hdfs://127.0.0.1:${gw.port}${lakePath}`, { hdfsUser: 'game' }) as HdfsLake
  return {
    dir,
    lake,
    close: async () => {
      await gw.close()
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}

lakeContract('hdfs-lake via the embedded gateway', gatewayLake)

describe('HdfsLake specifics', () => {
  it('keeps files under the URL path in the gateway root', async () => {
    const f = await gatewayLake('/tmp/lake')
    try {
      await f.lake.writeFile('purchases/dt=2026-11-28/x.parquet', 'PAR1')
      const local = path.join(f.dir, 'tmp', 'lake', 'purchases', 'dt=2026-11-28', 'x.parquet')
      expect(await fs.readFile(local, 'utf8')).toBe('PAR1')
      expect(f.lake.localPath('purchases')).toBeUndefined()
    } finally {
      await f.close()
    }
  })

  it('lists more entries than one LISTSTATUS_BATCH page', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-hdfs-lake-'))
    const gw = await startWebHdfsGateway({ port: 0, root: dir, listBatchSize: 3 })
    try {
      const lake = openLake(`webhdfs://127.0.0.1:${gw.port}/data`, { hdfsUser: 'game' })
      await Promise.all(Array.from({ length: 8 }, (_, i) => lake.writeFile(`many/f${i}`, String(i))))
      const names = (await lake.list('many')).map((e) => e.name)
      expect(names).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'])
    } finally {
      await gw.close()
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it('fails with exit 4 and a `game up` hint when nothing listens', async () => {
    const f = await gatewayLake()
    const port = f.lake.client.baseUrl.split(':').pop()
    await f.close()
    const lake = openLake(`hdfs://127.0.0.1:${port}/tmp`, { hdfsUser: 'game' })
    const err = await lake.list('x').catch((e) => e)
    expect(err).toMatchObject({ exitCode: 4, code: 'UNREACHABLE' })
    expect(err.hint).toMatch(/game up/)
    expect(err.hint).toMatch(/GAME_LAKE/)
  })
})
