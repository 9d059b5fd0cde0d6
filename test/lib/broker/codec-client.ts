import net from 'node:net'
import { apiSpec, requestHeaderVersion, responseHeaderVersion } from '../../../src/lib/protocol/apis.js'
import { Reader, Writer } from '../../../src/lib/protocol/primitives.js'
import { decodeMessage, encodeMessage, type Message } from '../../../src/lib/protocol/schema.js'

/**
 * A raw Kafka client on the descriptor codec: any API at any version, request header v1 or v2 and
 * response header v0 or v1 as the version requires. Requests are answered in order.
 */
export class CodecClient {
  private buffered = Buffer.alloc(0)
  private waiters: { resolve: (frame: Buffer) => void; reject: (e: Error) => void }[] = []
  private nextCorrelation = 1

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0)
        if (this.buffered.length < 4 + size) break
        const frame = this.buffered.subarray(4, 4 + size)
        this.buffered = this.buffered.subarray(4 + size)
        this.waiters.shift()?.resolve(frame)
      }
    })
    socket.on('error', () => {})
    socket.once('close', () => {
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'))
    })
  }

  static connect(port: number): Promise<CodecClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new CodecClient(socket)))
      socket.once('error', reject)
    })
  }

  /** Sends `value` as API `key` at `version`; resolves with the decoded response body. */
  call(key: number, version: number, value: Message, clientId = 'codec-client'): Promise<Message> {
    const api = apiSpec(key)
    const correlationId = this.nextCorrelation++
    const w = new Writer().int16(key).int16(version).int32(correlationId).nullableString(clientId)
    if (requestHeaderVersion(key, version) >= 2) w.uvarint(0)
    encodeMessage(api.request, version, value, w)
    const body = w.toBuffer()
    const size = Buffer.alloc(4)
    size.writeInt32BE(body.length)
    const response = new Promise<Message>((resolve, reject) => {
      this.waiters.push({
        resolve: (frame) => {
          try {
            const r = new Reader(frame)
            const got = r.int32()
            if (got !== correlationId) throw new Error(`correlation ${got} != ${correlationId}`)
            if (responseHeaderVersion(key, version) >= 1) r.taggedFields()
            resolve(decodeMessage(api.response, version, r))
          } catch (error) {
            reject(error as Error)
          }
        },
        reject,
      })
    })
    this.socket.write(Buffer.concat([size, body]))
    return response
  }

  close(): void {
    this.socket.destroy()
  }
}
