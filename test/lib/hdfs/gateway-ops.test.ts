import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HdfsChecksumBuilder } from '../../../src/lib/hdfs/checksum.js'
import { GATEWAY_META_DIR, startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'

/**
 * The ops Hadoop's WebHdfsFileSystem (hdfs dfs, distcp, Spark) calls beyond the basics, each
 * checked against the JSON shapes of the WebHDFS REST reference and the field names Hadoop's
 * JsonUtil writes (and JsonUtilClient reads).
 */

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  json: () => any
}

function raw(
  port: number,
  method: string,
  rawPath: string,
  body?: string | Buffer,
  headers: Record<string, string> = method === 'GET' ? {} : { 'X-XSRF-HEADER': 'test' },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: rawPath, agent: false, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function remote(a: Answer): { exception: string; javaClassName: string; message: string } {
  expect(a.headers['content-type']).toMatch(/application\/json/)
  return a.json().RemoteException
}

/** A 200 JSON answer whose single top-level key is `key`; returns the object under it. */
function jsonOf(a: Answer, key: string) {
  expect(a.status, a.text).toBe(200)
  expect(a.headers['content-type']).toBe('application/json')
  const body = a.json()
  expect(Object.keys(body)).toEqual([key])
  return body[key]
}

/** A 200 with zero content length (SETPERMISSION, SETOWNER, SETTIMES, CONCAT, CHECKACCESS). */
function expectEmpty200(a: Answer): void {
  expect(a.status, a.text).toBe(200)
  expect(a.headers['content-length']).toBe('0')
  expect(a.text).toBe('')
}

describe('WebHDFS gateway: the ops Hadoop clients call', () => {
  let dir: string
  let root: string
  let gw: WebHdfsGateway
  const U = 'user.name=alice'
  const v1 = (p: string, q: string) => `/webhdfs/v1${p}?op=${q}&${U}`

  async function put(p: string, data: string | Buffer) {
    await fs.mkdir(path.dirname(path.join(root, p)), { recursive: true })
    await fs.writeFile(path.join(root, p), data)
  }
  const status = async (p: string) => jsonOf(await raw(gw.port, 'GET', v1(p, 'GETFILESTATUS')), 'FileStatus')

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-gateway-ops-'))
    root = path.join(dir, 'root')
    gw = await startWebHdfsGateway({ port: 0, root })
  })
  afterAll(async () => {
    await gw?.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('GETFILECHECKSUM: redirected to the datanode role, then a FileChecksum computed as HDFS does', async () => {
    const data = Buffer.alloc(70_000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff
    await put('/sum/data.bin', data)
    const step1 = await raw(gw.port, 'GET', v1('/sum/data.bin', 'GETFILECHECKSUM'))
    expect(step1.status).toBe(307)
    const loc = new URL(step1.headers.location!)
    expect(loc.host).toBe(`127.0.0.1:${gw.port}`)
    expect(loc.searchParams.get('op')).toBe('GETFILECHECKSUM')
    expect(loc.searchParams.get('datanode')).toBe('true')
    const sum = jsonOf(await raw(gw.port, 'GET', loc.pathname + loc.search), 'FileChecksum')
    expect(Object.keys(sum).sort()).toEqual(['algorithm', 'bytes', 'length'])
    expect(sum).toEqual(new HdfsChecksumBuilder().update(data).result())
    expect(sum.algorithm).toBe('MD5-of-0MD5-of-512CRC32C')
    expect(sum.length).toBe(28)
    expect(sum.bytes).toMatch(/^000002000000000000000000[0-9a-f]{32}$/)

    // noredirect: the Location as JSON, like OPEN.
    const nr = jsonOf(
      await raw(gw.port, 'GET', `${v1('/sum/data.bin', 'GETFILECHECKSUM')}&noredirect=true`),
      'Location',
    )
    expect(new URL(nr).searchParams.get('op')).toBe('GETFILECHECKSUM')

    // Same bytes, same checksum (what distcp compares); an empty file gives HDFS's fixed entry.
    await put('/sum/copy.bin', data)
    await put('/sum/empty.bin', '')
    const dn = (p: string) => raw(gw.port, 'GET', `${v1(p, 'GETFILECHECKSUM')}&datanode=true`)
    expect(jsonOf(await dn('/sum/copy.bin'), 'FileChecksum')).toEqual(sum)
    expect(jsonOf(await dn('/sum/empty.bin'), 'FileChecksum')).toEqual({
      algorithm: 'MD5-of-0MD5-of-0CRC32',
      bytes: '00000000000000000000000070bc8f4b72a86921468bf8e8441dce51',
      length: 28,
    })

    // Directories and missing files: 404 at either step.
    for (const p of [
      v1('/sum', 'GETFILECHECKSUM'),
      v1('/sum/none', 'GETFILECHECKSUM'),
      `${v1('/sum', 'GETFILECHECKSUM')}&datanode=true`,
    ]) {
      const a = await raw(gw.port, 'GET', p)
      expect(a.status, p).toBe(404)
      expect(remote(a).exception).toBe('FileNotFoundException')
    }
  })

  it('CREATE answers 201 with Location hdfs://<host:port>/<path>, quoted as java.net.URI does', async () => {
    const step1 = await raw(gw.port, 'PUT', v1('/loc/my%20file%25.txt', 'CREATE'))
    const loc = new URL(step1.headers.location!)
    const step2 = await raw(gw.port, 'PUT', loc.pathname + loc.search, 'x')
    expect(step2.status).toBe(201)
    expect(step2.headers.location).toBe(`hdfs://127.0.0.1:${gw.port}/loc/my%20file%25.txt`)
    expect(await fs.readFile(path.join(root, 'loc', 'my file%.txt'), 'utf8')).toBe('x')
  })

  it('GETSERVERDEFAULTS: FsServerDefaults with the fields and types JsonUtilClient reads', async () => {
    const d = jsonOf(await raw(gw.port, 'GET', v1('/', 'GETSERVERDEFAULTS')), 'FsServerDefaults')
    expect(d).toEqual({
      blockSize: 134_217_728,
      bytesPerChecksum: 512,
      writePacketSize: 65_536,
      replication: 1,
      fileBufferSize: 4096,
      encryptDataTransfer: false, // a JSON boolean: the client casts it to Boolean
      trashInterval: 0,
      checksumType: 2, // DataChecksum.Type.CRC32C.id, what GETFILECHECKSUM computes
      keyProviderUri: '', // empty: no KMS, so no encryption zones
      defaultStoragePolicyId: 7, // HOT
    })
  })

  it('GETDELEGATIONTOKEN: {"Token": null}, as a namenode with security off answers', async () => {
    expect(
      jsonOf(await raw(gw.port, 'GET', `${v1('/', 'GETDELEGATIONTOKEN')}&renewer=yarn`), 'Token'),
    ).toBeNull()
    const a = await raw(gw.port, 'GET', `${v1('/', 'GETDELEGATIONTOKEN')}&delegation=abc`)
    expect(a.status).toBe(400)
  })

  it('GETTRASHROOT: {"Path": "/user/<user>/.Trash"}', async () => {
    expect(jsonOf(await raw(gw.port, 'GET', v1('/sum/data.bin', 'GETTRASHROOT')), 'Path')).toBe(
      '/user/alice/.Trash',
    )
  })

  it('GETACLSTATUS: no ACL entries, the permission bits, owner and group', async () => {
    await put('/acl/f.txt', 'x')
    await fs.chmod(path.join(root, 'acl/f.txt'), 0o640)
    const acl = jsonOf(await raw(gw.port, 'GET', v1('/acl/f.txt', 'GETACLSTATUS')), 'AclStatus')
    expect(acl).toEqual({
      entries: [],
      group: 'supergroup',
      owner: 'game',
      permission: '640',
      stickyBit: false,
    })
    const a = await raw(gw.port, 'GET', v1('/acl/none', 'GETACLSTATUS'))
    expect(a.status).toBe(404)
  })

  it('CHECKACCESS: 200 with no body for an existing path (permissions are not enforced); fsaction checked', async () => {
    expectEmpty200(await raw(gw.port, 'GET', `${v1('/acl/f.txt', 'CHECKACCESS')}&fsaction=rwx`))
    expectEmpty200(await raw(gw.port, 'GET', `${v1('/acl', 'CHECKACCESS')}&fsaction=r--`))
    expect((await raw(gw.port, 'GET', `${v1('/acl/none', 'CHECKACCESS')}&fsaction=r--`)).status).toBe(404)
    for (const bad of ['', '&fsaction=rw', '&fsaction=xyz']) {
      const a = await raw(gw.port, 'GET', `${v1('/acl/f.txt', 'CHECKACCESS')}${bad}`)
      expect(a.status, bad).toBe(400)
      expect(remote(a).exception).toBe('IllegalArgumentException')
    }
  })

  it('GETXATTRS: {"XAttrs": []}; asking for a named one fails as on HDFS', async () => {
    expect(jsonOf(await raw(gw.port, 'GET', v1('/acl/f.txt', 'GETXATTRS')), 'XAttrs')).toEqual([])
    expect(
      jsonOf(await raw(gw.port, 'GET', `${v1('/acl/f.txt', 'GETXATTRS')}&encoding=hex`), 'XAttrs'),
    ).toEqual([])
    const named = await raw(
      gw.port,
      'GET',
      `${v1('/acl/f.txt', 'GETXATTRS')}&xattr.name=user.a&encoding=text`,
    )
    expect(named.status).toBe(403)
    expect(remote(named)).toMatchObject({
      exception: 'IOException',
      message: 'At least one of the attributes provided was not found.',
    })
    for (const bad of ['&xattr.name=nope', '&encoding=rot13']) {
      const a = await raw(gw.port, 'GET', `${v1('/acl/f.txt', 'GETXATTRS')}${bad}`)
      expect(a.status, bad).toBe(400)
    }
    expect((await raw(gw.port, 'GET', v1('/acl/none', 'GETXATTRS'))).status).toBe(404)
    // LISTXATTRS: the names as JSON text inside the JSON, as JsonUtil writes them.
    expect(jsonOf(await raw(gw.port, 'GET', v1('/acl/f.txt', 'LISTXATTRS')), 'XAttrNames')).toBe('[]')
    expect((await raw(gw.port, 'GET', v1('/acl/none', 'LISTXATTRS'))).status).toBe(404)
  })

  it('GETSTORAGEPOLICY: the default HOT policy, shaped as BlockStoragePolicy', async () => {
    const p = jsonOf(await raw(gw.port, 'GET', v1('/acl', 'GETSTORAGEPOLICY')), 'BlockStoragePolicy')
    expect(p).toEqual({
      copyOnCreateFile: false,
      creationFallbacks: [],
      id: 7,
      name: 'HOT',
      replicationFallbacks: ['ARCHIVE'],
      storageTypes: ['DISK'],
    })
    expect((await raw(gw.port, 'GET', v1('/acl/none', 'GETSTORAGEPOLICY'))).status).toBe(404)
  })

  it('GETQUOTAUSAGE: files and directories counted, no quotas (-1)', async () => {
    await put('/quota/a.txt', '12345')
    await put('/quota/sub/b.txt', '678')
    const q = jsonOf(await raw(gw.port, 'GET', v1('/quota', 'GETQUOTAUSAGE')), 'QuotaUsage')
    expect(q).toEqual({
      fileAndDirectoryCount: 4,
      quota: -1,
      spaceConsumed: 8,
      spaceQuota: -1,
      typeQuota: {},
    })
    expect((await raw(gw.port, 'GET', v1('/quota/none', 'GETQUOTAUSAGE'))).status).toBe(404)
  })

  it('GETFILEBLOCKLOCATIONS: one BlockLocation per 128 MiB block in the range, all on this node', async () => {
    await put('/blocks/small.bin', Buffer.alloc(1000, 1))
    const locs = jsonOf(
      await raw(gw.port, 'GET', v1('/blocks/small.bin', 'GETFILEBLOCKLOCATIONS')),
      'BlockLocations',
    )
    expect(Object.keys(locs)).toEqual(['BlockLocation'])
    expect(locs.BlockLocation).toEqual([
      {
        cachedHosts: [],
        corrupt: false,
        hosts: ['127.0.0.1'],
        length: 1000,
        names: [`127.0.0.1:${gw.port}`],
        offset: 0,
        storageTypes: ['DISK'],
        topologyPaths: [`/default-rack/127.0.0.1:${gw.port}`],
      },
    ])
    // A sparse 300 MiB file has three blocks; offset/length pick the ones the range touches.
    const big = path.join(root, 'blocks/big.bin')
    await fs.writeFile(big, '')
    await fs.truncate(big, 300 * 1024 * 1024)
    const all = jsonOf(
      await raw(gw.port, 'GET', v1('/blocks/big.bin', 'GETFILEBLOCKLOCATIONS')),
      'BlockLocations',
    )
    expect(all.BlockLocation.map((b: { offset: number; length: number }) => [b.offset, b.length])).toEqual([
      [0, 134_217_728],
      [134_217_728, 134_217_728],
      [268_435_456, 46_137_344],
    ])
    const some = jsonOf(
      await raw(
        gw.port,
        'GET',
        `${v1('/blocks/big.bin', 'GETFILEBLOCKLOCATIONS')}&offset=134217733&length=10`,
      ),
      'BlockLocations',
    )
    expect(some.BlockLocation.map((b: { offset: number }) => b.offset)).toEqual([134_217_728])
    await put('/blocks/empty.bin', '')
    expect(
      jsonOf(await raw(gw.port, 'GET', v1('/blocks/empty.bin', 'GETFILEBLOCKLOCATIONS')), 'BlockLocations'),
    ).toEqual({ BlockLocation: [] })
    expect((await raw(gw.port, 'GET', v1('/blocks', 'GETFILEBLOCKLOCATIONS'))).status).toBe(404)
  })

  it('GETSTATUS: FsStatus capacity, used and remaining of the disk under the root', async () => {
    const s = jsonOf(await raw(gw.port, 'GET', v1('/', 'GETSTATUS')), 'FsStatus')
    expect(Object.keys(s).sort()).toEqual(['capacity', 'remaining', 'used'])
    const sf = await fs.statfs(root)
    expect(s.capacity).toBe(sf.blocks * sf.bsize)
    expect(Number.isSafeInteger(s.used) && Number.isSafeInteger(s.remaining)).toBe(true)
    expect(s.used + s.remaining).toBeLessThanOrEqual(s.capacity)
    expect(s.remaining).toBeGreaterThan(0)
  })

  it('SETPERMISSION and SETOWNER: kept, shown by GETFILESTATUS/LISTSTATUS, moved by RENAME, dropped by DELETE', async () => {
    await put('/own/f.txt', 'data')
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own/f.txt', 'SETPERMISSION')}&permission=600`))
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own/f.txt', 'SETOWNER')}&owner=bob&group=analysts`))
    expect(await status('/own/f.txt')).toMatchObject({ permission: '600', owner: 'bob', group: 'analysts' })
    // Only the group: the owner stays.
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own/f.txt', 'SETOWNER')}&group=ops`))
    expect(await status('/own/f.txt')).toMatchObject({ owner: 'bob', group: 'ops' })
    const list = jsonOf(await raw(gw.port, 'GET', v1('/own', 'LISTSTATUS')), 'FileStatuses')
    expect(list.FileStatus[0]).toMatchObject({ pathSuffix: 'f.txt', permission: '600', owner: 'bob' })
    // A directory with the sticky bit (chmod 1777), as /tmp has on HDFS.
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own', 'SETPERMISSION')}&permission=1777`))
    expect(await status('/own')).toMatchObject({ permission: '1777' })
    expect(jsonOf(await raw(gw.port, 'GET', v1('/own', 'GETACLSTATUS')), 'AclStatus')).toMatchObject({
      permission: '1777',
      stickyBit: true,
    })
    // Recorded, not enforced: 000 does not lock anyone out.
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own/f.txt', 'SETPERMISSION')}&permission=000`))
    expect(await status('/own/f.txt')).toMatchObject({ permission: '0' })
    const open = await raw(gw.port, 'GET', `${v1('/own/f.txt', 'OPEN')}&datanode=true`)
    expect(open.text).toBe('data')

    // RENAME carries them (also for everything under a renamed directory).
    expect(jsonOf(await raw(gw.port, 'PUT', `${v1('/own', 'RENAME')}&destination=/own2`), 'boolean')).toBe(
      true,
    )
    expect(await status('/own2/f.txt')).toMatchObject({ permission: '0', owner: 'bob', group: 'ops' })
    // A new file at a deleted file's path starts afresh.
    expect(jsonOf(await raw(gw.port, 'DELETE', v1('/own2/f.txt', 'DELETE')), 'boolean')).toBe(true)
    await put('/own2/f.txt', 'new')
    expect(await status('/own2/f.txt')).toMatchObject({
      owner: 'game',
      group: 'supergroup',
      permission: '644',
    })

    // They survive a restart of the gateway, and the meta dir is not part of the namespace.
    expectEmpty200(await raw(gw.port, 'PUT', `${v1('/own2/f.txt', 'SETOWNER')}&owner=carol`))
    await gw.close()
    gw = await startWebHdfsGateway({ port: 0, root })
    expect(await status('/own2/f.txt')).toMatchObject({ owner: 'carol' })
    const top = jsonOf(await raw(gw.port, 'GET', v1('/', 'LISTSTATUS')), 'FileStatuses')
    expect(top.FileStatus.map((s: { pathSuffix: string }) => s.pathSuffix)).not.toContain(GATEWAY_META_DIR)
    expect((await raw(gw.port, 'GET', v1(`/${GATEWAY_META_DIR}/attrs.jsonl`, 'OPEN'))).status).toBe(403)

    // The journal: a line cut short by a crash is skipped; the start rewrites it compactly.
    const journal = path.join(root, GATEWAY_META_DIR, 'attrs.jsonl')
    await fs.appendFile(journal, '{"set":"/own2/f.txt","attrs":{"owner":"ma')
    await gw.close()
    gw = await startWebHdfsGateway({ port: 0, root })
    expect(await status('/own2/f.txt')).toMatchObject({ owner: 'carol' })
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { set: '/own2', attrs: { permission: 0o1777 } },
      { set: '/own2/f.txt', attrs: { owner: 'carol' } },
    ])
  })

  it('SETPERMISSION/SETOWNER errors: bad values 400, missing paths 404, no XSRF header 400', async () => {
    await put('/own3/f.txt', 'x')
    const cases: [string, number, string][] = [
      [`${v1('/own3/f.txt', 'SETPERMISSION')}&permission=999`, 400, 'IllegalArgumentException'],
      [`${v1('/own3/f.txt', 'SETOWNER')}`, 400, 'IllegalArgumentException'],
      [`${v1('/own3/none', 'SETPERMISSION')}&permission=644`, 404, 'FileNotFoundException'],
      [`${v1('/own3/none', 'SETOWNER')}&owner=x`, 404, 'FileNotFoundException'],
      [`${v1('/own3/none', 'SETTIMES')}&modificationtime=1`, 404, 'FileNotFoundException'],
    ]
    for (const [p, code, exception] of cases) {
      const a = await raw(gw.port, 'PUT', p)
      expect(a.status, p).toBe(code)
      expect(remote(a).exception, p).toBe(exception)
    }
    const noXsrf = await raw(
      gw.port,
      'PUT',
      `${v1('/own3/f.txt', 'SETPERMISSION')}&permission=600`,
      undefined,
      {},
    )
    expect(noXsrf.status).toBe(400)
    expect(await status('/own3/f.txt')).toMatchObject({ permission: '644' })
  })

  it('SETTIMES: modification and access times to the millisecond; -1 leaves one as it is', async () => {
    await put('/times/f.txt', 'x')
    const mtime = 1_700_000_000_123
    const atime = 1_700_000_555_987
    expectEmpty200(
      await raw(
        gw.port,
        'PUT',
        `${v1('/times/f.txt', 'SETTIMES')}&modificationtime=${mtime}&accesstime=${atime}`,
      ),
    )
    expect(await status('/times/f.txt')).toMatchObject({ modificationTime: mtime, accessTime: atime })
    expectEmpty200(
      await raw(gw.port, 'PUT', `${v1('/times/f.txt', 'SETTIMES')}&modificationtime=1600000000001`),
    )
    expect(await status('/times/f.txt')).toMatchObject({
      modificationTime: 1_600_000_000_001,
      accessTime: atime,
    })
    expectEmpty200(
      await raw(gw.port, 'PUT', `${v1('/times/f.txt', 'SETTIMES')}&accesstime=-1&modificationtime=-1`),
    )
    expect(await status('/times/f.txt')).toMatchObject({ modificationTime: 1_600_000_000_001 })
    expect((await raw(gw.port, 'PUT', `${v1('/times/f.txt', 'SETTIMES')}&modificationtime=abc`)).status).toBe(
      400,
    )
  })

  it('CONCAT: the sources appended to the target in order, then gone; HDFS rules for the sources', async () => {
    await put('/cat/t.txt', 'T-')
    await put('/cat/a.txt', 'A-')
    await put('/cat/b.txt', 'B')
    expectEmpty200(await raw(gw.port, 'POST', `${v1('/cat/t.txt', 'CONCAT')}&sources=/cat/b.txt,/cat/a.txt`))
    expect(await fs.readFile(path.join(root, 'cat/t.txt'), 'utf8')).toBe('T-BA-')
    expect((await fs.readdir(path.join(root, 'cat'))).sort()).toEqual(['t.txt'])

    await put('/cat/c.txt', 'C')
    await put('/cat/empty.txt', '')
    await put('/other/d.txt', 'D')
    const cases: [string, number, string][] = [
      ['', 400, 'IllegalArgumentException'],
      ['&sources=/other/d.txt', 400, 'HadoopIllegalArgumentException'],
      ['&sources=/cat/t.txt', 400, 'HadoopIllegalArgumentException'],
      ['&sources=/cat/c.txt,/cat/c.txt', 400, 'HadoopIllegalArgumentException'],
      ['&sources=/cat/empty.txt', 400, 'HadoopIllegalArgumentException'],
      ['&sources=/cat/none.txt', 404, 'FileNotFoundException'],
      ['&sources=cat/c.txt', 400, 'IllegalArgumentException'],
    ]
    for (const [q, code, exception] of cases) {
      const a = await raw(gw.port, 'POST', `${v1('/cat/t.txt', 'CONCAT')}${q}`)
      expect(a.status, q).toBe(code)
      expect(remote(a).exception, q).toBe(exception)
    }
    const noTarget = await raw(gw.port, 'POST', `${v1('/cat/none.txt', 'CONCAT')}&sources=/cat/c.txt`)
    expect(noTarget.status).toBe(404)
    // Nothing changed by the refused calls.
    expect(await fs.readFile(path.join(root, 'cat/t.txt'), 'utf8')).toBe('T-BA-')
    expect(await fs.readFile(path.join(root, 'cat/c.txt'), 'utf8')).toBe('C')
  })

  it('TRUNCATE: {"boolean": true} (done at once), the file cut to newlength; larger or missing refused', async () => {
    await put('/trunc/f.txt', '0123456789')
    await fs.chmod(path.join(root, 'trunc/f.txt'), 0o600)
    expect(
      jsonOf(await raw(gw.port, 'POST', `${v1('/trunc/f.txt', 'TRUNCATE')}&newlength=4`), 'boolean'),
    ).toBe(true)
    expect(await fs.readFile(path.join(root, 'trunc/f.txt'), 'utf8')).toBe('0123')
    expect((await fs.stat(path.join(root, 'trunc/f.txt'))).mode & 0o777).toBe(0o600)
    expect(
      jsonOf(await raw(gw.port, 'POST', `${v1('/trunc/f.txt', 'TRUNCATE')}&newlength=4`), 'boolean'),
    ).toBe(true)
    const larger = await raw(gw.port, 'POST', `${v1('/trunc/f.txt', 'TRUNCATE')}&newlength=5`)
    expect(larger.status).toBe(400)
    expect(remote(larger)).toMatchObject({
      exception: 'HadoopIllegalArgumentException',
      message: 'Cannot truncate to a larger file size. Current size: 4, truncate size: 5.',
    })
    expect((await raw(gw.port, 'POST', v1('/trunc/f.txt', 'TRUNCATE'))).status).toBe(400)
    expect((await raw(gw.port, 'POST', `${v1('/trunc/none', 'TRUNCATE')}&newlength=0`)).status).toBe(404)
    expect((await raw(gw.port, 'POST', `${v1('/trunc', 'TRUNCATE')}&newlength=0`)).status).toBe(404)
    expect(await fs.readFile(path.join(root, 'trunc/f.txt'), 'utf8')).toBe('0123')
  })

  it('keeps its safety on the new ops: foreign Host refused, symlinks out of the root refused', async () => {
    const outside = path.join(dir, 'outside')
    await fs.mkdir(outside, { recursive: true })
    await fs.writeFile(path.join(outside, 's.txt'), 'secret')
    await fs.symlink(outside, path.join(root, 'link'))
    for (const op of [
      'GETFILECHECKSUM&datanode=true',
      'GETACLSTATUS',
      'GETFILEBLOCKLOCATIONS',
      'GETQUOTAUSAGE',
    ]) {
      const a = await raw(gw.port, 'GET', v1('/link/s.txt', op))
      expect(a.status, op).toBe(403)
    }
    for (const [m, op] of [
      ['PUT', 'SETTIMES&modificationtime=1'],
      ['POST', 'TRUNCATE&newlength=0'],
      ['PUT', 'SETPERMISSION&permission=777'],
    ]) {
      const a = await raw(gw.port, m, v1('/link/s.txt', op))
      expect(a.status, op).toBe(403)
    }
    expect(await fs.readFile(path.join(outside, 's.txt'), 'utf8')).toBe('secret')
    const foreign = await raw(
      gw.port,
      'GET',
      `${v1('/sum/data.bin', 'GETFILECHECKSUM')}&datanode=true`,
      undefined,
      {
        Host: 'evil.example:80',
      },
    )
    expect(foreign.status).toBe(400)
  })
})
