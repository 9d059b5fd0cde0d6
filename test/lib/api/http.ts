import http from 'node:http'
import net from 'node:net'

export interface HttpAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One HTTP request with full control of headers (Host included), on a fresh connection. */
export function httpRequest(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Writes raw bytes to the server and returns everything it answers until it closes or `until` matches. */
export function rawRequest(
  port: number,
  bytes: Buffer | string,
  until = /\r\n\r\n[\s\S]*\n$/,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let text = ''
    socket.on('data', (d) => {
      text += d.toString('latin1')
      if (until.test(text)) socket.end()
    })
    socket.on('close', () => resolve(text))
    socket.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' && text ? resolve(text) : reject(e),
    )
    socket.write(bytes)
  })
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}
