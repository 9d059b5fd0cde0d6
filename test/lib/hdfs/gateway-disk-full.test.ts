/**
 * The WebHDFS gateway on a real full tmpfs (the lake's files are written through it): a CREATE or
 * APPEND that does not fit fails with IOException "No space left on device", leaves neither a
 * partial file nor anything under .webhdfs-tmp, changes nothing that existed, and writes work again
 * as soon as space is freed, with no restart. Skipped, with the reason, where mount is not allowed.
 */
import { readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { WebHdfsClient } from '../../../src/lib/hdfs/client.js'
import { GATEWAY_TMP_DIR, startWebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import { mountTmpfs } from '../../helpers/tmpfs.js'

describe('WebHDFS gateway on a full disk', () => {
  it('a write that does not fit fails cleanly, and writes work again once space is freed', async (ctx) => {
    const mounted = mountTmpfs('4m')
    ctx.skip('why' in mounted, 'why' in mounted ? `no tmpfs: ${mounted.why}` : undefined)
    const tmpfs = mounted as { dir: string; unmount: () => void }
    const mnt = tmpfs.dir
    const root = path.join(mnt, 'hdfs')
    const gateway = await startWebHdfsGateway({ port: 0, root })
    try {
      const client = new WebHdfsClient({
        baseUrl: `http://127.0.0.1:${gateway.port}`,
        user: 'game',
        retries: 0,
      })
      await client.create('/tmp/small.txt', 'hello')
      const filler = path.join(mnt, 'filler')
      await writeFile(filler, Buffer.alloc(3 << 20, 1))

      const big = Buffer.alloc(2 << 20, 7)
      const create = await client.create('/tmp/big.parquet', big).then(
        () => 'created',
        (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
      )
      expect(create).toMatch(/IOEXCEPTION.*No space left on device/i)
      const append = await client.append('/tmp/small.txt', big).then(
        () => 'appended',
        (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
      )
      expect(append).toMatch(/No space left on device/i)
      expect(await client.statOrUndefined('/tmp/big.parquet')).toBeUndefined()
      expect((await client.open('/tmp/small.txt')).toString()).toBe('hello')
      expect(await readdir(path.join(root, GATEWAY_TMP_DIR))).toEqual([])

      await rm(filler)
      await client.create('/tmp/big.parquet', big)
      await client.append('/tmp/small.txt', ' again')
      expect((await client.open('/tmp/big.parquet')).equals(big)).toBe(true)
      expect((await client.open('/tmp/small.txt')).toString()).toBe('hello again')
    } finally {
      await gateway.close()
      tmpfs.unmount()
    }
  }, 60_000)
})
