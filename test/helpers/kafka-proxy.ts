import net from 'node:net'
import { ApiKey, apiSpec, requestHeaderVersion, responseHeaderVersion } from '../../src/lib/protocol/apis.js'
import { Reader, Writer } from '../../src/lib/protocol/primitives.js'
import { decodeMessage, encodeMessage } from '../../src/lib/protocol/schema.js'

/**
 * A TCP proxy in front of each broker of a Kafka cluster, for tests of lost responses. It forwards
 * frames both ways unchanged, except:
 * - Metadata responses name the proxies instead of the brokers (so a client keeps going through them);
 * - while `dropProduceResponses` > 0, a Produce response is not forwarded: the proxy closes both
 *   connections instead (the broker has appended, the client never sees the ack) and counts it;
 * - while `swallowProduceRequests` > 0, a Produce request is not forwarded (the broker never sees it);
 * - while `failProduceResponses` > 0, a Produce response says `failProduceWith` for every partition.
 */
/** The producer fields of one RecordBatch in a forwarded Produce request. */
export interface ProducedBatch {
  partition: number
  producerId: bigint
  epoch: number
  baseSequence: number
  count: number
  /** Whether the response to its request was dropped. */
  ackLost: boolean
}

export interface KafkaProxy {
  /** Every batch of every Produce request forwarded, in order. */
  batches: ProducedBatch[]
  /** The proxies' addresses, in the order of the upstream list. */
  bootstrap: string[]
  /** Produce responses still to drop. */
  dropProduceResponses: number
  /**
   * Produce responses still to rewrite: every partition's error becomes `failProduceWith` (the
   * broker has appended; the client is told it failed).
   */
  failProduceResponses: number
  failProduceWith: number
  /** Metadata requests forwarded so far. */
  metadataRequests: number
  /** Produce requests still to swallow: not forwarded, the connection stays open. */
  swallowProduceRequests: number
  /** Produce responses dropped so far. */
  dropped: number
  /** Produce requests forwarded so far. */
  produceRequests: number
  close(): Promise<void>
}

/** Splits a byte stream into size-prefixed frames (each without its 4-byte size). */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0)
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0)
      if (pending.length < 4 + size) return
      onFrame(pending.subarray(4, 4 + size))
      pending = pending.subarray(4 + size)
    }
  }
}

const sized = (body: Buffer): Buffer => {
  const head = Buffer.allocUnsafe(4)
  head.writeInt32BE(body.length, 0)
  return Buffer.concat([head, body])
}

export async function startKafkaProxy(upstream: string[]): Promise<KafkaProxy> {
  const servers: net.Server[] = []
  const sockets = new Set<net.Socket>()
  /** upstream host:port → proxy port */
  const proxyPort = new Map<string, number>()
  const state: KafkaProxy = {
    bootstrap: [],
    batches: [],
    dropProduceResponses: 0,
    swallowProduceRequests: 0,
    failProduceResponses: 0,
    failProduceWith: 6,
    metadataRequests: 0,
    dropped: 0,
    produceRequests: 0,
    async close() {
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
    },
  }

  const rewriteMetadata = (version: number, headerVersion: number, frame: Buffer): Buffer => {
    const r = new Reader(frame)
    r.int32() // correlation id
    if (headerVersion >= 1) r.taggedFields()
    const headerEnd = r.offset
    const spec = apiSpec(ApiKey.Metadata)
    const m = decodeMessage(spec.response, version, new Reader(frame.subarray(headerEnd)))
    for (const b of m.brokers) {
      const port = proxyPort.get(`${b.host}:${b.port}`)
      if (port !== undefined) {
        b.host = '127.0.0.1'
        b.port = port
      }
    }
    const body = encodeMessage(spec.response, version, m, new Writer(256)).toBuffer()
    return Buffer.concat([frame.subarray(0, headerEnd), body])
  }

  /** The batches of a Produce request frame (first batch of each partition's records). */
  const produceBatches = (frame: Buffer, version: number): ProducedBatch[] => {
    const r = new Reader(frame)
    r.int16()
    r.int16()
    r.int32()
    r.nullableString() // client id
    if (requestHeaderVersion(ApiKey.Produce, version) >= 2) r.taggedFields()
    const m = decodeMessage(apiSpec(ApiKey.Produce).request, version, r)
    const out: ProducedBatch[] = []
    for (const t of m.topicData)
      for (const p of t.partitionData) {
        const rec = Buffer.from(p.records)
        out.push({
          partition: p.index,
          producerId: rec.readBigInt64BE(43),
          epoch: rec.readInt16BE(51),
          baseSequence: rec.readInt32BE(53),
          count: rec.readInt32BE(57),
          ackLost: false,
        })
      }
    return out
  }

  /** A Produce response with every partition's error code set to `code`. */
  const failProduce = (version: number, headerVersion: number, frame: Buffer, code: number): Buffer => {
    const r = new Reader(frame)
    r.int32() // correlation id
    if (headerVersion >= 1) r.taggedFields()
    const headerEnd = r.offset
    const spec = apiSpec(ApiKey.Produce)
    const m = decodeMessage(spec.response, version, new Reader(frame.subarray(headerEnd)))
    for (const t of m.responses)
      for (const p of t.partitionResponses) {
        p.errorCode = code
        p.baseOffset = -1n
      }
    const body = encodeMessage(spec.response, version, m, new Writer(256)).toBuffer()
    return Buffer.concat([frame.subarray(0, headerEnd), body])
  }

  const serve = (target: string) => (client: net.Socket) => {
    const i = target.lastIndexOf(':')
    const server = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) })
    sockets.add(client)
    sockets.add(server)
    const requests = new Map<number, { key: number; version: number; batches?: ProducedBatch[] }>()
    const end = () => {
      client.destroy()
      server.destroy()
    }
    client.on('close', end)
    server.on('close', end)
    client.on('error', end)
    server.on('error', end)
    client.on(
      'data',
      framer((frame) => {
        const key = frame.readInt16BE(0)
        const version = frame.readInt16BE(2)
        const req: { key: number; version: number; batches?: ProducedBatch[] } = { key, version }
        requests.set(frame.readInt32BE(4), req)
        if (key === ApiKey.Metadata) state.metadataRequests++
        if (key === ApiKey.Produce) {
          if (state.swallowProduceRequests > 0) {
            state.swallowProduceRequests--
            return
          }
          state.produceRequests++
          req.batches = produceBatches(frame, version)
          state.batches.push(...req.batches)
        }
        server.write(sized(frame))
      }),
    )
    server.on(
      'data',
      framer((frame) => {
        const req = requests.get(frame.readInt32BE(0))
        if (req?.key === ApiKey.Produce && state.dropProduceResponses > 0) {
          state.dropProduceResponses--
          state.dropped++
          for (const b of req.batches ?? []) b.ackLost = true
          end()
          return
        }
        if (req?.key === ApiKey.Produce && state.failProduceResponses > 0) {
          state.failProduceResponses--
          frame = failProduce(
            req.version,
            responseHeaderVersion(req.key, req.version),
            frame,
            state.failProduceWith,
          )
        }
        if (req?.key === ApiKey.Metadata)
          frame = rewriteMetadata(req.version, responseHeaderVersion(req.key, req.version), frame)
        client.write(sized(frame))
      }),
    )
  }

  for (const target of upstream) {
    const server = net.createServer(serve(target))
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const { port } = server.address() as net.AddressInfo
    proxyPort.set(target, port)
    state.bootstrap.push(`127.0.0.1:${port}`)
  }
  return state
}
