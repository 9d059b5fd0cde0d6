import net from 'node:net'
import { Reader, Writer } from '../protocol/primitives.js'

/**
 * The client side of the Kafka wire protocol shared by the lean producer and the lean fetcher: one
 * pipelined connection (size-prefixed frames matched by correlation id), Kafka's retriable error
 * codes, and Metadata v4 decoding. Standard protocol only, so it talks to the embedded broker and
 * to Apache Kafka alike.
 */

/** A Kafka error code from a response, or a lost/failed connection. */
export class KafkaRequestError extends Error {
  constructor(
    message: string,
    readonly errorCode: number,
    readonly retriable: boolean,
  ) {
    super(message)
    this.name = 'KafkaRequestError'
  }
}

/** The error code of a lost or failed connection (not a Kafka code). */
export const NETWORK = -100
export const API_METADATA = 3
export const METADATA_VERSION = 4

interface InFlight {
  resolve: (body: Buffer) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/** One broker connection; requests are pipelined and answered in order of correlation id. */
export class Connection {
  private readonly socket: net.Socket
  private readonly inFlight = new Map<number, InFlight>()
  private nextId = 1
  private chunks: Buffer[] = []
  private buffered = 0
  dead = false
  readonly ready: Promise<void>

  constructor(
    readonly address: string,
    private readonly clientId: string,
    connectTimeoutMs: number,
    private readonly requestTimeoutMs: number,
    private readonly onDead: (c: Connection) => void,
  ) {
    const i = address.lastIndexOf(':')
    const host = address.slice(0, i).replace(/^\[|\]$/g, '')
    const port = Number(address.slice(i + 1))
    this.socket = net.connect({ host, port })
    this.socket.setNoDelay(true)
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new KafkaRequestError(`connect to ${address} timed out`, NETWORK, true)),
        connectTimeoutMs,
      )
      this.socket.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
      this.socket.once('close', () => {
        clearTimeout(timer)
        reject(new KafkaRequestError(`connection to ${address} failed`, NETWORK, true))
      })
    })
    this.ready.catch(() => {})
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('error', (error) =>
      this.fail(new KafkaRequestError(`${address}: ${error.message}`, NETWORK, true)),
    )
    this.socket.on('close', () =>
      this.fail(new KafkaRequestError(`connection to ${address} closed`, NETWORK, true)),
    )
  }

  /** Sends one request; resolves with the response body (after the correlation id). */
  request(apiKey: number, version: number, body: Writer): Promise<Buffer> {
    if (this.dead)
      return Promise.reject(new KafkaRequestError(`connection to ${this.address} closed`, NETWORK, true))
    const id = this.nextId
    this.nextId = (this.nextId + 1) & 0x7fffffff || 1
    const clientIdLen = Buffer.byteLength(this.clientId)
    const head = Buffer.allocUnsafe(14 + clientIdLen)
    head.writeInt32BE(10 + clientIdLen + body.length, 0)
    head.writeInt16BE(apiKey, 4)
    head.writeInt16BE(version, 6)
    head.writeInt32BE(id, 8)
    head.writeInt16BE(clientIdLen, 12)
    head.write(this.clientId, 14, 'utf8')
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new KafkaRequestError(
              `no answer from ${this.address} within ${this.requestTimeoutMs} ms`,
              7,
              true,
            ),
          ),
        this.requestTimeoutMs,
      )
      this.inFlight.set(id, { resolve, reject, timer })
      const chunks = body.toChunks()
      this.socket.cork()
      this.socket.write(head)
      // A client's requests never hold deferred chunks (those are the broker's streamed records).
      for (const c of chunks) this.socket.write(c as Buffer)
      this.socket.uncork()
    })
  }

  close(): void {
    this.fail(new KafkaRequestError(`connection to ${this.address} closed`, NETWORK, true))
  }

  private fail(error: Error): void {
    if (!this.dead) {
      this.dead = true
      this.socket.destroy()
      this.onDead(this)
    }
    for (const f of this.inFlight.values()) {
      clearTimeout(f.timer)
      f.reject(error)
    }
    this.inFlight.clear()
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    while (this.buffered >= 4) {
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)]
      const size = this.chunks[0].readInt32BE(0)
      if (this.buffered < 4 + size) return
      let frame: Buffer
      if (this.chunks[0].length >= 4 + size) {
        frame = this.chunks[0].subarray(4, 4 + size)
        const rest = this.chunks[0].subarray(4 + size)
        if (rest.length > 0) this.chunks[0] = rest
        else this.chunks.shift()
      } else {
        const all = Buffer.concat(this.chunks)
        frame = all.subarray(4, 4 + size)
        const rest = all.subarray(4 + size)
        this.chunks = rest.length > 0 ? [rest] : []
      }
      this.buffered -= 4 + size
      if (size < 4) {
        this.fail(new KafkaRequestError(`bad response frame from ${this.address}`, NETWORK, true))
        return
      }
      const id = frame.readInt32BE(0)
      const f = this.inFlight.get(id)
      if (!f) {
        this.fail(
          new KafkaRequestError(`unexpected correlation id ${id} from ${this.address}`, NETWORK, true),
        )
        return
      }
      this.inFlight.delete(id)
      clearTimeout(f.timer)
      f.resolve(frame.subarray(4))
    }
  }
}

/** One connection per broker address, opened on first use and replaced when it died. */
export class ConnectionPool {
  private readonly conns = new Map<string, Connection>()
  private closed = false

  constructor(
    private readonly clientId: string,
    private readonly connectTimeoutMs: number,
    private readonly requestTimeoutMs: number,
    /** The message of the error a request gets after close(). */
    private readonly closedMessage = 'client closed',
  ) {}

  /** The open connection to an address (connecting if needed). */
  async get(address: string): Promise<Connection> {
    if (this.closed) throw new KafkaRequestError(this.closedMessage, NETWORK, false)
    let c = this.conns.get(address)
    if (!c || c.dead) {
      c = new Connection(address, this.clientId, this.connectTimeoutMs, this.requestTimeoutMs, (d) => {
        if (this.conns.get(d.address) === d) this.conns.delete(d.address)
      })
      this.conns.set(address, c)
    }
    await c.ready
    return c
  }

  /** Closes every connection; requests in flight fail, later ones get `closedMessage`. */
  close(): void {
    this.closed = true
    for (const c of [...this.conns.values()]) c.close()
    this.conns.clear()
  }
}

export interface MetadataTopic {
  name: string
  /** Kafka error code of the topic (0 = none). */
  error: number
  /** Leader node id per partition (-1 = none); the array length is the partition count. */
  leaders: number[]
}

export interface MetadataV4 {
  /** node id → host:port */
  nodes: Map<number, string>
  topics: MetadataTopic[]
}

/** Metadata v4: `allowAutoTopicCreation` for the listed topics. */
export async function requestMetadata(
  c: Connection,
  topics: string[],
  allowAutoTopicCreation: boolean,
): Promise<MetadataV4> {
  const w = new Writer(64)
  w.array(topics, (w, t) => w.string(t)).bool(allowAutoTopicCreation)
  const r = new Reader(await c.request(API_METADATA, METADATA_VERSION, w))
  r.int32() // throttle_time_ms
  const nodes = new Map<number, string>()
  r.array((r) => {
    const id = r.int32()
    const host = r.string()
    const port = r.int32()
    r.nullableString() // rack
    nodes.set(id, `${host.includes(':') ? `[${host}]` : host}:${port}`)
  })
  r.nullableString() // cluster_id
  r.int32() // controller_id
  const out: MetadataTopic[] = r.array((r) => {
    const error = r.int16()
    const name = r.string()
    r.bool() // is_internal
    const leaders: number[] = []
    r.array((r) => {
      r.int16() // partition error (LEADER_NOT_AVAILABLE shows as leader -1)
      const index = r.int32()
      const leader = r.int32()
      r.array((r) => r.int32()) // replicas
      r.array((r) => r.int32()) // isr
      leaders[index] = leader
    })
    return { name, error, leaders }
  })
  return { nodes, topics: out }
}
