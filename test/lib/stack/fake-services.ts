import net from 'node:net'
import type { ProbeResult, ServiceSpec } from '../../../src/lib/stack/types.js'

/** A tiny TCP service for supervisor tests: listens on host:port, probed by connecting. */
export function fakeService(name: string, port = 0, events: string[] = []): ServiceSpec {
  return {
    name,
    address: `127.0.0.1:${port}`,
    portFlag: `--${name}-port`,
    probe: tcpProbe,
    start: () =>
      new Promise((resolve, reject) => {
        const server = net.createServer((socket) => socket.end())
        server.once('error', (error: NodeJS.ErrnoException) => reject(error))
        server.listen({ host: '127.0.0.1', port }, () => {
          const address = server.address() as net.AddressInfo
          events.push(`start ${name}`)
          resolve({
            address: `127.0.0.1:${address.port}`,
            stop: () =>
              new Promise<void>((res) => {
                events.push(`stop ${name}`)
                server.close(() => res())
              }),
          })
        })
      }),
  }
}

export function tcpProbe(address: string): Promise<ProbeResult> {
  const i = address.lastIndexOf(':')
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) })
    socket.once('connect', () => {
      socket.destroy()
      resolve({ ok: true, detail: 'connected' })
    })
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, detail: error.code ?? error.message }),
    )
  })
}

/** Binds port 0 and closes it: a port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Holds a port until close() is called. */
export function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo
      resolve({ port, close: () => new Promise((r) => server.close(() => r())) })
    })
  })
}
