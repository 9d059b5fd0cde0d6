import net from 'node:net'
import { GameError } from '../errors.js'
import { ApiKey, apiName, apiSpec, isFlexible } from '../protocol/apis.js'
import { kafkaError } from '../protocol/errors.js'
import { Reader, type Writer } from '../protocol/primitives.js'
import { decodeMessage, encodeMessage, type Message, type VersionRange } from '../protocol/schema.js'

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
/** The Metadata versions this client speaks (through the descriptor codec); v10+ carries topic ids. */
export const METADATA_VERSIONS: VersionRange = [1, 12]
/** ApiVersions: v3 carries the client's software name (KIP-511); v0 is the fallback. */
const API_VERSIONS_MAX = 3
const UNSUPPORTED_VERSION = 35
const SOFTWARE_NAME = 'game'
const SOFTWARE_VERSION = '1.0.0'

interface InFlight {
  resolve: (body: Buffer) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
  /** Response header v1: tagged fields follow the correlation id. */
  flexible: boolean
}

/** No version both sides speak: names the API and both ranges. */
export function versionUnsupported(
  address: string,
  key: number,
  client: VersionRange,
  broker?: VersionRange,
): GameError {
  const theirs = broker ? `v${broker[0]}..v${broker[1]}` : 'none'
  return new GameError(
    'KAFKA_VERSION_UNSUPPORTED',
    `Kafka at ${address} speaks ${apiName(key)} ${theirs}; this client speaks v${client[0]}..v${client[1]}`,
    { hint: 'Use a Kafka broker of version 0.11 or later (Apache Kafka 2.x, 3.x and 4.x all work).' },
  )
}

/** One broker connection; requests are pipelined and answered in order of correlation id. */
export class Connection {
  private readonly socket: net.Socket
  private readonly inFlight = new Map<number, InFlight>()
  private nextId = 1
  private chunks: Buffer[] = []
  private buffered = 0
  dead = false
  /** The first error that ended this connection. */
  private failure: Error | undefined
  readonly ready: Promise<void>
  /** The broker's ApiVersions ranges, by API key (known once `ready` resolved). */
  readonly brokerVersions = new Map<number, VersionRange>()

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
        this.negotiate().then(resolve, reject)
      })
      this.socket.once('close', () => {
        clearTimeout(timer)
        reject(this.failure ?? new KafkaRequestError(`connection to ${address} failed`, NETWORK, true))
      })
    })
    this.ready.catch(() => {})
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('error', (error: NodeJS.ErrnoException) =>
      this.fail(
        new KafkaRequestError(
          error.code === 'ECONNREFUSED'
            ? `nothing listens at ${address} (ECONNREFUSED)`
            : `${address}: ${error.message}`,
          NETWORK,
          true,
        ),
      ),
    )
    this.socket.on('close', () =>
      this.fail(new KafkaRequestError(`connection to ${address} closed`, NETWORK, true)),
    )
  }

  /**
   * ApiVersions, once, before any other request: v3 with our software name, and on
   * UNSUPPORTED_VERSION (answered in the v0 layout, KIP-511) the broker's ranges from that answer,
   * or a retry with v0 when it listed none.
   */
  private async negotiate(): Promise<void> {
    const spec = apiSpec(ApiKey.ApiVersions)
    let version = API_VERSIONS_MAX
    for (let attempt = 0; attempt < 2; attempt++) {
      const w = encodeMessage(spec.request, version, {
        clientSoftwareName: SOFTWARE_NAME,
        clientSoftwareVersion: SOFTWARE_VERSION,
      })
      const body = await this.request(ApiKey.ApiVersions, version, w)
      const errorCode = body.length >= 2 ? body.readInt16BE(0) : 0
      let keys: Message[] = []
      if (errorCode === 0) keys = decodeMessage(spec.response, version, new Reader(body)).apiKeys
      else if (errorCode === UNSUPPORTED_VERSION) {
        // KIP-511: the answer uses the v0 layout and lists the broker's ranges. Some brokers (e.g.
        // librdkafka's mock cluster) send something else; then retry with v0, as librdkafka does.
        try {
          keys = decodeMessage(spec.response, 0, new Reader(body)).apiKeys
        } catch {
          keys = []
        }
      }
      if (errorCode === 0 || keys.length > 0) {
        for (const k of keys) this.brokerVersions.set(k.apiKey, [k.minVersion, k.maxVersion])
        return
      }
      if (errorCode !== UNSUPPORTED_VERSION)
        throw refused(this.address, ApiKey.ApiVersions, version, errorCode)
      version = 0
    }
    throw refused(this.address, ApiKey.ApiVersions, 0, UNSUPPORTED_VERSION)
  }

  /** The highest version both this client (`client`) and the broker speak, or KAFKA_VERSION_UNSUPPORTED. */
  version(key: number, client: VersionRange): number {
    const broker = this.brokerVersions.get(key)
    const high = broker ? Math.min(broker[1], client[1]) : -1
    if (!broker || high < Math.max(broker[0], client[0]))
      throw versionUnsupported(this.address, key, client, broker)
    return high
  }

  /** A control request through the descriptor codec, at the negotiated version. */
  async call(
    key: number,
    client: VersionRange,
    value: Message,
  ): Promise<{ version: number; message: Message }> {
    const spec = apiSpec(key)
    const version = this.version(key, client)
    const body = await this.request(key, version, encodeMessage(spec.request, version, value))
    return { version, message: decodeMessage(spec.response, version, new Reader(body)) }
  }

  /** Sends one request; resolves with the response body (after the response header). */
  request(apiKey: number, version: number, body: Writer): Promise<Buffer> {
    if (this.dead)
      return Promise.reject(new KafkaRequestError(`connection to ${this.address} closed`, NETWORK, true))
    const id = this.nextId
    this.nextId = (this.nextId + 1) & 0x7fffffff || 1
    const flexible = isFlexible(apiKey, version)
    const clientIdLen = Buffer.byteLength(this.clientId)
    const headerTags = flexible ? 1 : 0
    const head = Buffer.allocUnsafe(14 + clientIdLen + headerTags)
    head.writeInt32BE(10 + clientIdLen + headerTags + body.length, 0)
    head.writeInt16BE(apiKey, 4)
    head.writeInt16BE(version, 6)
    head.writeInt32BE(id, 8)
    head.writeInt16BE(clientIdLen, 12)
    head.write(this.clientId, 14, 'utf8')
    if (flexible) head[14 + clientIdLen] = 0 // request header v2: no tagged fields
    const flexibleResponse = flexible && apiKey !== ApiKey.ApiVersions
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
      this.inFlight.set(id, { resolve, reject, timer, flexible: flexibleResponse })
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
    this.failure ??= error
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
      if (f.flexible) {
        const r = new Reader(frame.subarray(4))
        r.taggedFields()
        f.resolve(frame.subarray(4 + r.offset))
      } else f.resolve(frame.subarray(4))
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
  /** Metadata v10+: the topic's id (all zeros before). */
  topicId?: string
}

export interface MetadataV4 {
  /** node id → host:port */
  nodes: Map<number, string>
  topics: MetadataTopic[]
}

/** Metadata at the negotiated version (v1..v12); `allowAutoTopicCreation` from v4 on. */
export async function requestMetadata(
  c: Connection,
  topics: string[],
  allowAutoTopicCreation: boolean,
): Promise<MetadataV4> {
  const { message: m } = await c.call(API_METADATA, METADATA_VERSIONS, {
    topics: topics.map((name) => ({ name })),
    allowAutoTopicCreation,
  })
  const nodes = new Map<number, string>()
  for (const b of m.brokers as Message[]) {
    const host = b.host as string
    nodes.set(b.nodeId, `${host.includes(':') ? `[${host}]` : host}:${b.port}`)
  }
  const out: MetadataTopic[] = (m.topics as Message[]).map((t) => {
    const leaders: number[] = []
    // partition error LEADER_NOT_AVAILABLE shows as leader -1
    for (const p of t.partitions as Message[]) leaders[p.partitionIndex] = p.leaderId
    return { name: t.name ?? '', error: t.errorCode, leaders, topicId: t.topicId }
  })
  return { nodes, topics: out }
}

/** "A broker answered but refused": the API, the version and Kafka's error name. */
export function refused(address: string, key: number, version: number, code: number): KafkaRequestError {
  const e = kafkaError(code)
  return new KafkaRequestError(
    `Kafka at ${address} refused ${apiName(key)} v${version}: ${e.name} (${e.message})`,
    code,
    e.retriable,
  )
}
