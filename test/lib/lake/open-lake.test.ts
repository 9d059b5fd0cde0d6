import { describe, expect, it } from 'vitest'
import { FileLake } from '../../../src/lib/lake/file-lake.js'
import { HdfsLake } from '../../../src/lib/lake/hdfs-lake.js'
import { openLake, parseLakeUrl } from '../../../src/lib/lake/open.js'

const opts = { hdfsUser: 'game' }

describe('openLake', () => {
  it('opens hdfs:// and webhdfs:// over WebHDFS, paths relative to the URL path', () => {
    const lake = openLake('hdfs://127.0.0.1:9870/tmp', opts) as HdfsLake
    expect(lake).toBeInstanceOf(HdfsLake)
    expect(lake.kind).toBe('hdfs')
    expect(lake.url).toBe('hdfs://127.0.0.1:9870/tmp')
    expect(lake.hdfsPath('purchases/x')).toBe('/tmp/purchases/x')
    expect(lake.hdfsPath('')).toBe('/tmp')
    expect(lake.localPath('x')).toBeUndefined()
    expect(lake.client.baseUrl).toBe('http://127.0.0.1:9870')
    expect(lake.client.user).toBe('game')
    const w = openLake('webhdfs://nn.example:50070/', {
      hdfsUser: 'u',
      datanodeHost: '127.0.0.1:9864',
    }) as HdfsLake
    expect(w.hdfsPath('a/b')).toBe('/a/b')
    expect(w.client.datanodeHost).toBe('127.0.0.1:9864')
  })

  it('defaults the WebHDFS port to 9870', () => {
    expect(parseLakeUrl('hdfs://namenode/data')).toEqual({
      kind: 'hdfs',
      baseUrl: 'http://namenode:9870',
      root: '/data',
    })
  })

  it('opens file:// on the local disk', () => {
    const lake = openLake('file:///var/tmp/lake', opts)
    expect(lake).toBeInstanceOf(FileLake)
    expect(lake.kind).toBe('file')
    expect(lake.localPath('a/b')).toBe('/var/tmp/lake/a/b')
  })

  it.each([
    ['not a url', /not a URL/],
    ['s3://bucket/x', /unsupported scheme s3:/],
    ['hdfs:///tmp', /missing the namenode host/],
    ['file://remote-host/x', /take no host/],
    ['hdfs://h:9870/tmp/../etc', /\.\./],
    ['file:///tmp/%2e%2e/etc', /\.\./],
    ['hdfs://h:9870/tmp?x=1', /query/],
  ])('rejects %s with a config error (exit 3) and a hint', (url, why) => {
    let err: unknown
    try {
      openLake(url, opts)
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 3 })
    expect((err as Error).message).toMatch(why)
    expect((err as { hint: string }).hint).toMatch(/GAME_LAKE/)
  })

  it("rejects lake paths containing '..' on both adapters", () => {
    const h = openLake('hdfs://127.0.0.1:9870/tmp', opts) as HdfsLake
    expect(() => h.hdfsPath('a/../../b')).toThrow(/'\.\.'/)
    expect(() => openLake('file:///tmp/x', opts).localPath('../y')).toThrow(/'\.\.'/)
  })
})
