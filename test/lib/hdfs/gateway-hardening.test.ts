/** Who can reach the gateway and where its writes can land: Host, CSRF header, symlinks, long names. */
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GATEWAY_TMP_DIR, startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

function request(
  port: number,
  method: string,
  p: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent: false, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString(),
        }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

const X = { 'X-XSRF-HEADER': 't' }
const U = 'user.name=game'

describe('WebHDFS gateway hardening', () => {
  let base: string
  let root: string
  let outside: string
  let gw: WebHdfsGateway

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'game-gw-hard-'))
    root = path.join(base, 'root')
    outside = path.join(base, 'outside')
    await fs.mkdir(outside)
    gw = await startWebHdfsGateway({ port: 0, root, allowedHosts: ['namenode.lan'] })
    await fs.writeFile(path.join(root, 'f.txt'), 'hello')
  })
  afterAll(async () => {
    await gw?.close()
    await fs.rm(base, { recursive: true, force: true })
  })

  it('answers only loopback or configured Host names, and never puts another in Location', async () => {
    const evil = await request(gw.port, 'GET', `/webhdfs/v1/f.txt?op=OPEN&${U}`, { Host: 'evil.example' })
    expect(evil.status).toBe(400)
    expect(evil.headers.location).toBeUndefined()
    expect(evil.text).toContain('hdfsAllowedHosts')
    const rebound = await request(gw.port, 'GET', `/webhdfs/v1/?op=LISTSTATUS&${U}`, {
      Host: `evil.example:${gw.port}`,
    })
    expect(rebound.status).toBe(400)
    for (const host of [`localhost:${gw.port}`, `127.0.0.1:${gw.port}`, `namenode.lan:${gw.port}`]) {
      const ok = await request(gw.port, 'GET', `/webhdfs/v1/f.txt?op=OPEN&${U}`, { Host: host })
      expect(ok.status, host).toBe(307)
      expect(new URL(ok.headers.location!).host).toBe(host)
    }
  })

  it('refuses writes without X-XSRF-HEADER (a cross-origin text/plain POST APPEND)', async () => {
    const append = await request(
      gw.port,
      'POST',
      `/webhdfs/v1/f.txt?op=APPEND&datanode=true&${U}`,
      { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      'pwned',
    )
    expect(append.status).toBe(400)
    expect(append.text).toContain('CSRF')
    expect(await fs.readFile(path.join(root, 'f.txt'), 'utf8')).toBe('hello')
    const del = await request(gw.port, 'DELETE', `/webhdfs/v1/f.txt?op=DELETE&${U}`)
    expect(del.status).toBe(400)
    const mk = await request(gw.port, 'PUT', `/webhdfs/v1/d?op=MKDIRS&${U}`)
    expect(mk.status).toBe(400)
    // With the header, as the project's client sends it, writes work.
    const ok = await request(gw.port, 'POST', `/webhdfs/v1/f.txt?op=APPEND&datanode=true&${U}`, X, ' world')
    expect(ok.status).toBe(200)
    expect(await fs.readFile(path.join(root, 'f.txt'), 'utf8')).toBe('hello world')
  })

  it('LISTSTATUS and GETCONTENTSUMMARY do not follow symlinks out of the root', async () => {
    await fs.mkdir(path.join(root, 'ls'))
    await fs.writeFile(path.join(outside, 'big.bin'), Buffer.alloc(12345))
    await fs.symlink(path.join(outside, 'big.bin'), path.join(root, 'ls', 'passwd'))
    await fs.symlink(outside, path.join(root, 'ls', 'etc'))
    await fs.writeFile(path.join(root, 'ls', 'own.txt'), 'abc')
    const list = await request(gw.port, 'GET', `/webhdfs/v1/ls?op=LISTSTATUS&${U}`)
    expect(list.status).toBe(200)
    const names = JSON.parse(list.text).FileStatuses.FileStatus.map(
      (s: { pathSuffix: string }) => s.pathSuffix,
    )
    expect(names).toEqual(['own.txt'])
    const sum = await request(gw.port, 'GET', `/webhdfs/v1/ls?op=GETCONTENTSUMMARY&${U}`)
    expect(JSON.parse(sum.text).ContentSummary).toMatchObject({ fileCount: 1, length: 3, directoryCount: 1 })
  })

  it('a symlink swapped in during a CREATE upload cannot make the write land outside the root', async () => {
    await fs.mkdir(path.join(root, 'race'))
    const done = new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gw.port,
          method: 'PUT',
          path: `/webhdfs/v1/race/x.bin?op=CREATE&datanode=true&overwrite=true&${U}`,
          headers: { ...X, 'Content-Length': '8' },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            }),
          )
        },
      )
      req.on('error', reject)
      req.write('1234')
      // Once the upload is in progress (its temp file exists), swap the directory for a symlink.
      const swap = async () => {
        for (let i = 0; i < 500; i++) {
          if ((await fs.readdir(path.join(root, GATEWAY_TMP_DIR))).length > 0) break
          await new Promise((r) => setTimeout(r, 10))
        }
        await fs.rename(path.join(root, 'race'), path.join(root, 'race-old'))
        await fs.symlink(outside, path.join(root, 'race'))
        req.end('5678')
      }
      swap().catch(reject)
    })
    const answer = await done
    expect(answer.status).toBe(403)
    await expect(fs.stat(path.join(outside, 'x.bin'))).rejects.toThrow()
  })

  it('names of 300 and 5,000 bytes get a 400 that does not reveal the local path', async () => {
    for (const n of [300, 5000]) {
      for (const [method, op, headers] of [
        ['GET', 'GETFILESTATUS', {}],
        ['PUT', 'MKDIRS', X],
        ['PUT', 'CREATE&datanode=true', X],
      ] as const) {
        const a = await request(gw.port, method, `/webhdfs/v1/${'n'.repeat(n)}?op=${op}&${U}`, headers, 'x')
        expect(a.status, `${n} ${op}`).toBe(400)
        expect(a.text).not.toContain(root)
        expect(a.text).not.toContain(base)
      }
    }
  })
})
