import net from 'node:net'
import { Reader, Writer } from '../../../src/lib/protocol/primitives.js'

/** A bare Kafka-protocol connection for hand-built requests (fuzzing, version edge cases). */
export class RawClient {
  private buffered = Buffer.alloc(0)
  private waiters: { resolve: (frame: Buffer) => void; reject: (e: Error) => void }[] = []
  private nextCorrelation = 1
  readonly closed: Promise<void>

  private constructor(readonly socket: net.Socket) {
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
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'))
        resolve()
      }),
    )
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)))
      socket.once('error', reject)
    })
  }

  /** Writes raw bytes as they are. */
  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Sends one framed request (header v1) and resolves with the response body after the correlation id. */
  request(
    apiKey: number,
    version: number,
    body: Buffer = Buffer.alloc(0),
    clientId = 'raw',
  ): Promise<Reader> {
    const correlationId = this.nextCorrelation++
    const header = new Writer().int16(apiKey).int16(version).int32(correlationId).string(clientId).toBuffer()
    const size = Buffer.alloc(4)
    size.writeInt32BE(header.length + body.length)
    const response = new Promise<Reader>((resolve, reject) => {
      if (this.socket.destroyed) reject(new Error('connection closed'))
      this.waiters.push({
        resolve: (frame) => {
          const r = new Reader(frame)
          const got = r.int32()
          if (got !== correlationId) reject(new Error(`correlation ${got} != ${correlationId}`))
          else resolve(r)
        },
        reject,
      })
    })
    this.socket.write(Buffer.concat([size, header, body]))
    return response
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  send(apiKey: number, version: number, body: Buffer): void {
    const header = new Writer()
      .int16(apiKey)
      .int16(version)
      .int32(this.nextCorrelation++)
      .string('raw')
      .toBuffer()
    const size = Buffer.alloc(4)
    size.writeInt32BE(header.length + body.length)
    this.socket.write(Buffer.concat([size, header, body]))
  }

  close(): void {
    this.socket.destroy()
  }
}

function varint(n: number): number[] {
  // zigzag, then base-128; plain arithmetic so values beyond 32 bits work
  let z = n >= 0 ? 2 * n : -2 * n - 1
  const out: number[] = []
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80)
    z = Math.floor(z / 0x80)
  }
  out.push(z)
  return out
}

/** An uncompressed RecordBatch v2 holding `values` (keys null, no headers), CRC-32C filled in. */
export function recordBatch(
  values: string[],
  crc: (buf: Buffer, start: number) => number,
  timestamp = Date.now(),
  timestampDeltas: number[] = [],
): Buffer {
  const records = values.map((v, i) => {
    const value = Buffer.from(v)
    const body = Buffer.from([
      0,
      ...varint(timestampDeltas[i] ?? 0),
      ...varint(i),
      ...varint(-1),
      ...varint(value.length),
      ...value,
      ...varint(0),
    ])
    return Buffer.concat([Buffer.from(varint(body.length)), body])
  })
  const payload = Buffer.concat(records)
  const b = Buffer.alloc(61 + payload.length)
  b.writeBigInt64BE(0n, 0)
  b.writeInt32BE(b.length - 12, 8)
  b.writeInt32BE(0, 12)
  b.writeInt8(2, 16)
  b.writeInt16BE(0, 21)
  b.writeInt32BE(values.length - 1, 23)
  b.writeBigInt64BE(BigInt(timestamp), 27)
  b.writeBigInt64BE(BigInt(timestamp + Math.max(0, ...timestampDeltas)), 35)
  b.writeBigInt64BE(-1n, 43)
  b.writeInt16BE(-1, 51)
  b.writeInt32BE(-1, 53)
  b.writeInt32BE(values.length, 57)
  payload.copy(b, 61)
  b.writeUInt32BE(crc(b, 21), 17)
  return b
}
