import fs from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { GATEWAY_TMP_DIR, startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  json: () => any
}

/** One raw request; the path is sent exactly as given (no URL normalisation). */
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

function remoteOf(a: Answer): { exception: string; javaClassName: string; message: string } {
  expect(a.headers['content-type']).toMatch(/application\/json/)
  return a.json().RemoteException
}

describe('WebHDFS gateway', () => {
  let dir: string
  let root: string
  let outside: string
  let gw: WebHdfsGateway
  const logs: string[] = []
  const U = 'user.name=game'

  beforeAll(async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'game-gateway-'))
    dir = base
    root = path.join(base, 'root')
    outside = path.join(base, 'outside')
    await fs.mkdir(outside)
    await fs.writeFile(path.join(outside, 'secret.txt'), 'secret')
    gw = await startWebHdfsGateway({ port: 0, root, log: (level, m) => logs.push(`${level} ${m}`) })
    await fs.symlink(outside, path.join(root, 'escape'))
  })
  afterAll(async () => {
    await gw?.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('binds an ephemeral port on 127.0.0.1 and logs where it serves', () => {
    expect(gw.host).toBe('127.0.0.1')
    expect(gw.port).toBeGreaterThan(0)
    expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`)
    expect(logs.some((l) => l.startsWith('info') && l.includes(gw.url))).toBe(true)
  })

  it('CREATE: 307 to the datanode role with no data read; data step 201; file at <root>/<path>', async () => {
    const step1 = await raw(gw.port, 'PUT', `/webhdfs/v1/a/b.txt?op=CREATE&${U}`)
    expect(step1.status).toBe(307)
    const loc = new URL(step1.headers.location!)
    expect(loc.host).toBe(`127.0.0.1:${gw.port}`)
    expect(loc.pathname).toBe('/webhdfs/v1/a/b.txt')
    expect(loc.searchParams.get('op')).toBe('CREATE')
    await expect(fs.stat(path.join(root, 'a', 'b.txt'))).rejects.toMatchObject({ code: 'ENOENT' })
    const step2 = await raw(gw.port, 'PUT', loc.pathname + loc.search, 'hello')
    expect(step2.status).toBe(201)
    expect(step2.headers.location).toBe(`hdfs://127.0.0.1:${gw.port}/a/b.txt`)
    expect(await fs.readFile(path.join(root, 'a', 'b.txt'), 'utf8')).toBe('hello')
  })

  it('Expect: 100-continue: no invitation at the namenode step, one at the data step (curl -T sends data once)', async () => {
    const expectContinue = (p: string, body: string) =>
      new Promise<{ status: number; continued: boolean; location?: string }>((resolve, reject) => {
        let continued = false
        const req = http.request({
          host: '127.0.0.1',
          port: gw.port,
          method: 'PUT',
          path: p,
          agent: false,
          headers: { Expect: '100-continue', 'Content-Length': String(body.length), 'X-XSRF-HEADER': 't' },
        })
        req.on('continue', () => {
          continued = true
          req.end(body)
        })
        req.on('response', (res) => {
          res.resume()
          res.on('end', () => {
            if (!continued) req.destroy()
            resolve({ status: res.statusCode ?? 0, continued, location: res.headers.location })
          })
        })
        req.on('error', (e) => (continued ? reject(e) : undefined))
        req.flushHeaders()
      })
    const step1 = await expectContinue(`/webhdfs/v1/expect.txt?op=CREATE&${U}`, 'data')
    expect(step1).toMatchObject({ status: 307, continued: false })
    const loc = new URL(step1.location!)
    const step2 = await expectContinue(loc.pathname + loc.search, 'data')
    expect(step2).toMatchObject({ status: 201, continued: true })
    expect(await fs.readFile(path.join(root, 'expect.txt'), 'utf8')).toBe('data')
  })

  it('noredirect=true answers 200 {"Location"}', async () => {
    const a = await raw(gw.port, 'PUT', `/webhdfs/v1/nr.txt?op=CREATE&noredirect=true&${U}`)
    expect(a.status).toBe(200)
    const loc = new URL(a.json().Location)
    expect(loc.searchParams.get('noredirect')).toBeNull()
    expect((await raw(gw.port, 'PUT', loc.pathname + loc.search, 'x')).status).toBe(201)
  })

  it('CREATE on an existing file without overwrite: 403 FileAlreadyExistsException at both steps', async () => {
    await fs.writeFile(path.join(root, 'exists.txt'), 'old')
    const nn = await raw(gw.port, 'PUT', `/webhdfs/v1/exists.txt?op=CREATE&${U}`)
    expect(nn.status).toBe(403)
    expect(remoteOf(nn)).toMatchObject({
      exception: 'FileAlreadyExistsException',
      javaClassName: 'org.apache.hadoop.fs.FileAlreadyExistsException',
    })
    const dn = await raw(gw.port, 'PUT', `/webhdfs/v1/exists.txt?op=CREATE&datanode=true&${U}`, 'new')
    expect(dn.status).toBe(403)
    expect(remoteOf(dn).exception).toBe('FileAlreadyExistsException')
    expect(await fs.readFile(path.join(root, 'exists.txt'), 'utf8')).toBe('old')
  })

  it('answers 404 FileNotFoundException for missing paths, {"boolean": false} for DELETE of one', async () => {
    for (const op of ['GETFILESTATUS', 'LISTSTATUS', 'LISTSTATUS_BATCH', 'GETCONTENTSUMMARY', 'OPEN']) {
      const a = await raw(gw.port, 'GET', `/webhdfs/v1/no/such?op=${op}&${U}`)
      expect(a.status, op).toBe(404)
      expect(remoteOf(a)).toMatchObject({
        exception: 'FileNotFoundException',
        javaClassName: 'java.io.FileNotFoundException',
      })
    }
    const d = await raw(gw.port, 'DELETE', `/webhdfs/v1/no/such?op=DELETE&${U}`)
    expect(d.status).toBe(200)
    expect(d.json()).toEqual({ boolean: false })
  })

  it('bad ops and parameters: 400 IllegalArgumentException; unimplemented ops: 400 UnsupportedOperationException', async () => {
    const cases: [string, string, string][] = [
      ['GET', `/webhdfs/v1/?op=NOPE&${U}`, 'IllegalArgumentException'],
      ['GET', `/webhdfs/v1/?${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/x?op=OPEN&${U}`, 'IllegalArgumentException'],
      ['GET', `/webhdfs/v1/x?op=MKDIRS&${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/x?op=CREATE&overwrite=maybe&${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/x?op=MKDIRS&permission=999&${U}`, 'IllegalArgumentException'],
      ['GET', `/webhdfs/v1/a/b.txt?op=OPEN&offset=-1&${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/a/b.txt?op=RENAME&${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/a/b.txt?op=RENAME&destination=relative&${U}`, 'IllegalArgumentException'],
      ['PUT', `/webhdfs/v1/a/b.txt?op=SETREPLICATION&replication=2&${U}`, 'UnsupportedOperationException'],
      ['POST', `/webhdfs/v1/a/b.txt?op=UNSETSTORAGEPOLICY&${U}`, 'UnsupportedOperationException'],
    ]
    for (const [method, p, exception] of cases) {
      const a = await raw(gw.port, method, p)
      expect(a.status, `${method} ${p}`).toBe(400)
      expect(remoteOf(a).exception, `${method} ${p}`).toBe(exception)
    }
  })

  it('op names are case-insensitive', async () => {
    const a = await raw(gw.port, 'GET', `/webhdfs/v1/a?op=liststatus&${U}`)
    expect(a.status).toBe(200)
    expect(a.json().FileStatuses.FileStatus.map((s: { pathSuffix: string }) => s.pathSuffix)).toEqual([
      'b.txt',
    ])
  })

  it('refuses every escape from the root: .., %2e%2e, NUL, symlinks out, the upload temp dir', async () => {
    const attempts: [string, string, number, string][] = [
      ['GET', `/webhdfs/v1/../outside/secret.txt?op=OPEN&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/a/../../outside?op=LISTSTATUS&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/%2e%2e/outside/secret.txt?op=OPEN&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/%2E%2E%2Foutside?op=LISTSTATUS&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/a%00b?op=GETFILESTATUS&${U}`, 400, 'IllegalArgumentException'],
      ['GET', `/webhdfs/v1/a%zz?op=GETFILESTATUS&${U}`, 400, 'IllegalArgumentException'],
      ['GET', `/webhdfs/v1/escape/secret.txt?op=OPEN&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/escape?op=LISTSTATUS&${U}`, 403, 'AccessControlException'],
      ['PUT', `/webhdfs/v1/escape/new.txt?op=CREATE&datanode=true&${U}`, 403, 'AccessControlException'],
      ['PUT', `/webhdfs/v1/escape/sub?op=MKDIRS&${U}`, 403, 'AccessControlException'],
      ['DELETE', `/webhdfs/v1/escape/secret.txt?op=DELETE&${U}`, 403, 'AccessControlException'],
      ['PUT', `/webhdfs/v1/a/b.txt?op=RENAME&destination=/../outside/x&${U}`, 403, 'AccessControlException'],
      ['PUT', `/webhdfs/v1/a/b.txt?op=RENAME&destination=/escape/x&${U}`, 403, 'AccessControlException'],
      ['GET', `/webhdfs/v1/${GATEWAY_TMP_DIR}?op=LISTSTATUS&${U}`, 403, 'AccessControlException'],
    ]
    for (const [method, p, status, exception] of attempts) {
      const a = await raw(gw.port, method, p, method === 'PUT' ? 'x' : undefined)
      expect(a.status, `${method} ${p}`).toBe(status)
      expect(remoteOf(a).exception, `${method} ${p}`).toBe(exception)
    }
    expect(await fs.readdir(outside)).toEqual(['secret.txt'])
    expect(await fs.readFile(path.join(root, 'a', 'b.txt'), 'utf8')).toBe('hello')
  })

  it('hides the upload temp dir from listings and content summaries', async () => {
    const a = await raw(gw.port, 'GET', `/webhdfs/v1/?op=LISTSTATUS&${U}`)
    const names = a.json().FileStatuses.FileStatus.map((s: { pathSuffix: string }) => s.pathSuffix)
    expect(names).not.toContain(GATEWAY_TMP_DIR)
    expect(names).toContain('a')
  })

  it('user.name is optional (dr.who, like an unsecured namenode) unless requireUser', async () => {
    expect((await raw(gw.port, 'PUT', `/webhdfs/v1/anon?op=MKDIRS`)).json()).toEqual({ boolean: true })
    const st = await raw(gw.port, 'GET', `/webhdfs/v1/anon?op=GETFILESTATUS`)
    expect(st.json().FileStatus.type).toBe('DIRECTORY')
    const strict = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'strict'), requireUser: true })
    try {
      const a = await raw(strict.port, 'GET', '/webhdfs/v1/?op=LISTSTATUS')
      expect(a.status).toBe(401)
      expect(remoteOf(a).exception).toBe('SecurityException')
      expect((await raw(strict.port, 'GET', `/webhdfs/v1/?op=LISTSTATUS&${U}`)).status).toBe(200)
    } finally {
      await strict.close()
    }
  })

  it('LISTSTATUS FileStatus fields', async () => {
    const a = await raw(gw.port, 'GET', `/webhdfs/v1/a?op=LISTSTATUS&${U}`)
    const [s] = a.json().FileStatuses.FileStatus
    expect(Object.keys(s).sort()).toEqual(
      [
        'accessTime',
        'blockSize',
        'childrenNum',
        'fileId',
        'group',
        'length',
        'modificationTime',
        'owner',
        'pathSuffix',
        'permission',
        'replication',
        'storagePolicy',
        'type',
      ].sort(),
    )
    expect(s).toMatchObject({
      pathSuffix: 'b.txt',
      type: 'FILE',
      length: 5,
      permission: '644',
      owner: 'game',
    })
  })

  it('RENAME follows HDFS: false for a missing source or destination parent, into an existing directory', async () => {
    const put = (p: string) => raw(gw.port, 'PUT', p).then((a) => a.json())
    await fs.mkdir(path.join(root, 'rn', 'into'), { recursive: true })
    await fs.writeFile(path.join(root, 'rn', 'f'), 'f')
    expect(await put(`/webhdfs/v1/rn/missing?op=RENAME&destination=/rn/g&${U}`)).toEqual({ boolean: false })
    expect(await put(`/webhdfs/v1/rn/f?op=RENAME&destination=/rn/nope/g&${U}`)).toEqual({ boolean: false })
    expect(await put(`/webhdfs/v1/rn/f?op=RENAME&destination=/rn/into&${U}`)).toEqual({ boolean: true })
    expect(await fs.readFile(path.join(root, 'rn', 'into', 'f'), 'utf8')).toBe('f')
    expect(await put(`/webhdfs/v1/rn?op=RENAME&destination=/rn/into/sub&${U}`)).toEqual({ boolean: false })
    expect(await put(`/webhdfs/v1/rn/into/f?op=RENAME&destination=/rn/g%20h&${U}`)).toEqual({ boolean: true })
    expect(await fs.readFile(path.join(root, 'rn', 'g h'), 'utf8')).toBe('f')
  })

  it('MKDIRS under a file is ParentNotDirectoryException (403)', async () => {
    const a = await raw(gw.port, 'PUT', `/webhdfs/v1/a/b.txt/sub?op=MKDIRS&${U}`)
    expect(a.status).toBe(403)
    expect(remoteOf(a).exception).toBe('ParentNotDirectoryException')
  })

  it('an aborted upload leaves nothing behind', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port: gw.port,
        method: 'PUT',
        path: `/webhdfs/v1/aborted.bin?op=CREATE&datanode=true&${U}`,
        headers: { 'content-length': '1000000', 'x-xsrf-header': 't' },
        agent: false,
      })
      req.on('error', () => resolve())
      req.write(Buffer.alloc(100_000), () => {
        req.destroy()
        resolve()
      })
    })
    await vi.waitFor(async () => expect(await fs.readdir(path.join(root, GATEWAY_TMP_DIR))).toEqual([]), {
      timeout: 5000,
      interval: 20,
    })
    await expect(fs.stat(path.join(root, 'aborted.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('never crashes on garbage: bad request lines, other paths, odd methods', async () => {
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () => s.write('THIS IS NOT HTTP\r\n\r\n'))
      let got = ''
      s.on('data', (d) => {
        got += d
      })
      s.on('close', () => resolve(got))
      s.on('error', () => resolve(got))
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400/)
    const other = await raw(gw.port, 'GET', '/index.html')
    expect(other.status).toBe(404)
    expect(other.text).toMatch(/WebHDFS gateway/)
    const patch = await raw(gw.port, 'PATCH', `/webhdfs/v1/a?op=LISTSTATUS&${U}`)
    expect(patch.status).toBe(405)
    expect((await raw(gw.port, 'GET', `/webhdfs/v1/a?op=GETFILESTATUS&${U}`)).status).toBe(200)
  })

  it('GETHOMEDIRECTORY answers /user/<name>', async () => {
    expect((await raw(gw.port, 'GET', `/webhdfs/v1/?op=GETHOMEDIRECTORY&user.name=alice`)).json()).toEqual({
      Path: '/user/alice',
    })
  })

  it('fails to start on a used port with a PORT_IN_USE hint', async () => {
    const err = await startWebHdfsGateway({ port: gw.port, root: path.join(dir, 'other') }).catch((e) => e)
    expect(err).toMatchObject({ code: 'PORT_IN_USE' })
    expect(err.hint).toMatch(/--hdfs-port/)
  })

  it('removes stale temp uploads at start and keeps data across restarts', async () => {
    const r2 = path.join(dir, 'restart')
    const g1 = await startWebHdfsGateway({ port: 0, root: r2 })
    await raw(g1.port, 'PUT', `/webhdfs/v1/keep.txt?op=CREATE&datanode=true&${U}`, 'kept')
    await g1.close()
    await fs.writeFile(path.join(r2, GATEWAY_TMP_DIR, 'stale'), 'half')
    const g2 = await startWebHdfsGateway({ port: 0, root: r2 })
    try {
      expect(await fs.readdir(path.join(r2, GATEWAY_TMP_DIR))).toEqual([])
      expect((await raw(g2.port, 'GET', `/webhdfs/v1/keep.txt?op=OPEN&datanode=true&${U}`)).text).toBe('kept')
    } finally {
      await g2.close()
    }
  })
})
