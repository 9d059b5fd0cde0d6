import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebHdfsClient, WebHdfsError } from '../../../src/lib/hdfs/client.js'

interface Seen {
  method: string
  url: URL
  headers: http.IncomingHttpHeaders
  bodyBytes: number
  body: Buffer
}

type Handler = (seen: Seen, res: http.ServerResponse, port: number) => void

/** A stub namenode+datanode: records every request (with its body size) and answers through `handler`. */
async function stub(handler: Handler) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const s: Seen = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://stub'),
        headers: req.headers,
        bodyBytes: body.length,
        body,
      }
      seen.push(s)
      handler(s, res, (server.address() as AddressInfo).port)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    })
  closers.push(close)
  return { port, seen, url: `http://127.0.0.1:${port}` }
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

function remote(
  res: http.ServerResponse,
  status: number,
  exception: string,
  javaClassName: string,
  message: string,
) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify({ RemoteException: { exception, javaClassName, message } }))
}

/** Namenode answers 307 to an unresolvable docker-style datanode; the datanode role stores the body. */
const dockerLike: Handler = (s, res) => {
  if (s.url.searchParams.get('dn') === '1') {
    res.writeHead(201, { Location: 'hdfs://nn:8020/x', 'Content-Length': '0' })
    res.end()
    return
  }
  const loc = new URL(`http://datanode.invalid:9864${s.url.pathname}`)
  loc.search = s.url.search
  loc.searchParams.set('dn', '1')
  res.writeHead(307, { Location: loc.href, 'Content-Length': '0' })
  res.end()
}

describe('WebHdfsClient against a stub namenode', () => {
  it('fails with the --datanode-host hint when the 307 names an unresolvable datanode', async () => {
    const nn = await stub(dockerLike)
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', timeoutMs: 20_000 })
    const err = await client.create('/tmp/a.txt', 'hello').catch((e) => e)
    expect(err).toMatchObject({ code: 'WEBHDFS_DATANODE_UNRESOLVABLE', exitCode: 4 })
    expect(err.message).toMatch(/datanode\.invalid:9864/)
    expect(err.hint).toMatch(/--datanode-host/)
    expect(err.hint).toMatch(/GAME_DATANODE_HOST/)
    expect(nn.seen).toHaveLength(1)
  })

  it('succeeds with datanodeHost rewriting the redirect to a reachable address; step 1 carries 0 body bytes', async () => {
    const nn = await stub(dockerLike)
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', datanodeHost: `127.0.0.1:${nn.port}` })
    await client.create('/tmp/a.txt', Buffer.alloc(50_000, 1), { overwrite: true })
    expect(nn.seen).toHaveLength(2)
    const [step1, step2] = nn.seen
    expect(step1).toMatchObject({ method: 'PUT', bodyBytes: 0 })
    expect(step1.url.searchParams.get('op')).toBe('CREATE')
    expect(step1.url.searchParams.get('overwrite')).toBe('true')
    expect(step1.url.pathname).toBe('/webhdfs/v1/tmp/a.txt')
    expect(step2).toMatchObject({ method: 'PUT', bodyBytes: 50_000 })
    expect(step2.url.searchParams.get('dn')).toBe('1')
    // APPEND: same two steps with POST.
    await client.append('/tmp/a.txt', 'more')
    expect(nn.seen.slice(2).map((s) => [s.method, s.bodyBytes])).toEqual([
      ['POST', 0],
      ['POST', 4],
    ])
    for (const s of nn.seen) {
      expect(s.headers['x-xsrf-header']).toBeTruthy()
    }
    expect(step1.url.searchParams.get('user.name')).toBe('game')
  })

  it('sends user.name and X-XSRF-HEADER on every namenode call', async () => {
    const nn = await stub((_s, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"boolean": true}')
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'bob' })
    await client.mkdirs('/x')
    await client.delete('/x', true)
    await client.rename('/x', '/y')
    expect(
      nn.seen.map((s) => [
        s.url.searchParams.get('op'),
        s.url.searchParams.get('user.name'),
        s.headers['x-xsrf-header'] !== undefined,
      ]),
    ).toEqual([
      ['MKDIRS', 'bob', true],
      ['DELETE', 'bob', true],
      ['RENAME', 'bob', true],
    ])
    expect(nn.seen[1].url.searchParams.get('recursive')).toBe('true')
    expect(nn.seen[2].url.searchParams.get('destination')).toBe('/y')
  })

  const classes: [number, string, string, RegExp, number][] = [
    [404, 'FileNotFoundException', 'java.io.FileNotFoundException', /does not exist/, 1],
    [403, 'FileAlreadyExistsException', 'org.apache.hadoop.fs.FileAlreadyExistsException', /overwrite/, 1],
    [403, 'AccessControlException', 'org.apache.hadoop.security.AccessControlException', /GAME_HDFS_USER/, 3],
    [401, 'SecurityException', 'java.lang.SecurityException', /GAME_HDFS_USER/, 3],
    [400, 'IllegalArgumentException', 'java.lang.IllegalArgumentException', /malformed/, 1],
    [
      400,
      'UnsupportedOperationException',
      'java.lang.UnsupportedOperationException',
      /does not implement/,
      1,
    ],
    [403, 'StandbyException', 'org.apache.hadoop.ipc.StandbyException', /standby/, 4],
    [500, 'RuntimeException', 'java.lang.RuntimeException', /logs/, 1],
    [403, 'IOException', 'java.io.IOException', /I\/O error/, 1],
  ]
  it.each(classes)(
    'maps HTTP %i %s to a WebHdfsError with a hint',
    async (status, exception, javaClassName, hint, exitCode) => {
      const nn = await stub((_s, res) =>
        remote(res, status, exception, javaClassName, `remote says ${exception}`),
      )
      const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', retries: 0 })
      const err = await client.getFileStatus('/p').catch((e) => e)
      expect(err).toBeInstanceOf(WebHdfsError)
      expect(err).toMatchObject({
        status,
        exception,
        javaClassName,
        remoteMessage: `remote says ${exception}`,
        code: `WEBHDFS_${exception.toUpperCase()}`,
        exitCode,
      })
      expect(err.hint).toMatch(hint)
      expect(err.message).toMatch(/GETFILESTATUS \/p/)
    },
  )

  it('parses RemoteException bodies on the datanode step too', async () => {
    const nn = await stub((s, res, port) => {
      if (s.url.searchParams.get('dn') === '1') {
        remote(
          res,
          403,
          'FileAlreadyExistsException',
          'org.apache.hadoop.fs.FileAlreadyExistsException',
          '/f exists',
        )
        return
      }
      res.writeHead(307, { Location: `http://127.0.0.1:${port}${s.url.pathname}?op=CREATE&dn=1` })
      res.end()
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game' })
    await expect(client.create('/f', 'x')).rejects.toMatchObject({
      status: 403,
      exception: 'FileAlreadyExistsException',
      remoteMessage: '/f exists',
    })
  })

  it('handles non-JSON error bodies (HTML 500, plain 404)', async () => {
    const nn = await stub((s, res) => {
      if (s.url.pathname.endsWith('/html')) {
        res.writeHead(500, { 'Content-Type': 'text/html' })
        res.end('<html><body><h1>Error 500</h1><p>Server Error</p></body></html>')
        return
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end('no such context')
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', retries: 0 })
    const e500 = await client.listStatus('/html').catch((e) => e)
    expect(e500).toMatchObject({ status: 500, exception: 'Http500' })
    expect(e500.message).toMatch(/Server Error/)
    const e404 = await client.listStatus('/x').catch((e) => e)
    expect(e404.code).toBe('WEBHDFS_HTTPNOTFOUND')
    expect(e404.hint).toMatch(/webhdfs/i)
  })

  it('times out, retrying safe reads but never RENAME', async () => {
    const nn = await stub(() => {
      // never answers
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', timeoutMs: 150, retries: 2 })
    const err = await client.getFileStatus('/slow').catch((e) => e)
    expect(err).toMatchObject({ code: 'WEBHDFS_TIMEOUT', exitCode: 4 })
    // the stub records a request only once its (empty) body ended, which happens before the timeout
    expect(nn.seen.filter((s) => s.url.searchParams.get('op') === 'GETFILESTATUS')).toHaveLength(3)
    await expect(client.rename('/a', '/b')).rejects.toMatchObject({ code: 'WEBHDFS_TIMEOUT' })
    expect(nn.seen.filter((s) => s.url.searchParams.get('op') === 'RENAME')).toHaveLength(1)
  })

  it('retries a dropped connection for listings, not for the CREATE data step', async () => {
    let listCalls = 0
    const nn = await stub((s, res, port) => {
      const op = s.url.searchParams.get('op')
      if (op === 'LISTSTATUS') {
        listCalls++
        if (listCalls < 3) {
          res.socket?.destroy()
          return
        }
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end('{"FileStatuses":{"FileStatus":[]}}')
        return
      }
      if (s.url.searchParams.get('dn') === '1') {
        res.socket?.destroy()
        return
      }
      res.writeHead(307, { Location: `http://127.0.0.1:${port}${s.url.pathname}?op=CREATE&dn=1` })
      res.end()
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game', retries: 2 })
    expect(await client.listStatus('/d')).toEqual([])
    expect(listCalls).toBe(3)
    await expect(client.create('/f', 'data')).rejects.toMatchObject({ exitCode: 4 })
    expect(nn.seen.filter((s) => s.url.searchParams.get('dn') === '1')).toHaveLength(1)
  })

  it('connection refused is exit 4 with the `game up` / GAME_LAKE hint, without retry delays', async () => {
    const nn = await stub(() => {})
    const port = nn.port
    await closers.pop()!()
    const client = new WebHdfsClient({ baseUrl: `http://127.0.0.1:${port}`, user: 'game' })
    const t0 = Date.now()
    const err = await client.listStatus('/').catch((e) => e)
    expect(err).toMatchObject({ code: 'UNREACHABLE', exitCode: 4 })
    expect(err.hint).toBe(
      'run `game up` or set GAME_LAKE to a reachable WebHDFS namenode (hdfs://host:9870/path).',
    )
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('accepts noredirect-style 200 {"Location"} answers from the namenode', async () => {
    const nn = await stub((s, res, port) => {
      if (s.url.searchParams.get('dn') === '1') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
        res.end('bytes')
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ Location: `http://127.0.0.1:${port}${s.url.pathname}?op=OPEN&dn=1` }))
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game' })
    expect((await client.open('/f')).toString()).toBe('bytes')
  })

  it('rewrites only the host when datanodeHost has no port', () => {
    const client = new WebHdfsClient({
      baseUrl: 'http://127.0.0.1:9870',
      user: 'game',
      datanodeHost: 'localhost',
    })
    expect(client.rewriteLocation('http://d85d3582cf58:9864/webhdfs/v1/a?op=OPEN').href).toBe(
      'http://localhost:9864/webhdfs/v1/a?op=OPEN',
    )
  })
})

describe('WebHdfsClient fallbacks', () => {
  it('falls back to LISTSTATUS when the server does not know LISTSTATUS_BATCH', async () => {
    const nn = await stub((s, res) => {
      if (s.url.searchParams.get('op') === 'LISTSTATUS_BATCH') {
        remote(
          res,
          400,
          'IllegalArgumentException',
          'java.lang.IllegalArgumentException',
          'No enum constant LISTSTATUS_BATCH',
        )
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(
        JSON.stringify({ FileStatuses: { FileStatus: [{ pathSuffix: 'a', type: 'FILE', length: 1 }] } }),
      )
    })
    const client = new WebHdfsClient({ baseUrl: nn.url, user: 'game' })
    expect((await client.listStatusAll('/d')).map((s) => s.pathSuffix)).toEqual(['a'])
    expect(nn.seen.map((s) => s.url.searchParams.get('op'))).toEqual(['LISTSTATUS_BATCH', 'LISTSTATUS'])
  })
})

describe('WebHdfsClient connections', () => {
  it('never sends a non-retried request (data step, RENAME, DELETE) on a pooled keep-alive socket', async () => {
    const sockets: unknown[] = []
    const server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x')
        sockets.push(req.socket)
        if (u.searchParams.get('op') === 'CREATE' && !u.searchParams.get('dn')) {
          res.writeHead(307, {
            Location: `http://127.0.0.1:${port}${u.pathname}?op=CREATE&dn=1`,
            'Content-Length': '0',
          })
          res.end()
        } else if (u.searchParams.get('dn')) {
          res.writeHead(201, { 'Content-Length': '0' })
          res.end()
        } else {
          res.writeHead(200, { 'Content-Type': 'application/json' })
          res.end(
            u.searchParams.get('op') === 'LISTSTATUS'
              ? '{"FileStatuses":{"FileStatus":[]}}'
              : '{"boolean":true}',
          )
        }
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r())
          server.closeAllConnections()
        }),
    )
    const client = new WebHdfsClient({ baseUrl: `http://127.0.0.1:${port}`, user: 'game' })
    await client.listStatus('/a') // 0: pooled
    await client.listStatus('/a') // 1: same pooled socket
    await client.rename('/a', '/b') // 2: fresh
    await client.delete('/b') // 3: fresh
    await client.create('/c', 'x') // 4: namenode step (pooled), 5: data step (fresh)
    expect(sockets[1]).toBe(sockets[0])
    for (const i of [2, 3, 5]) {
      expect(sockets.indexOf(sockets[i]), `request ${i}`).toBe(i)
    }
  })
})
