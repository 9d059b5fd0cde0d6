import { type EncodedMessage, MessageEncoder } from '../../../src/lib/stream/encode.js'

/** The line an encoder result stands for, as text (a byte-built line written into a fresh buffer). */
export function encodedLine(out: EncodedMessage): string {
  if (out.bytes === null) return out.line
  const buf = Buffer.allocUnsafe(out.bytes.size)
  const end = out.bytes.write(buf, 0)
  if (end !== buf.length) throw new Error(`line writer wrote ${end} of ${buf.length} bytes`)
  return buf.toString('utf8')
}

let parses = 0
const realParse = JSON.parse
/** JSON.parse, counted: the scanned path is the one that encodes an event without calling it. */
function countingParse(text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) {
  parses += 1
  return realParse(text, reviver)
}

/**
 * A MessageEncoder class (`Base`: the one imported, or one from a fresh module graph after
 * vi.resetModules) that counts the events it encoded by the scanned path (plain-json.ts): a
 * byte-built line and no JSON.parse during the call.
 */
export function countingEncoderClass(Base: typeof MessageEncoder) {
  return class extends Base {
    scannedEvents = 0

    constructor() {
      super()
      if (JSON.parse !== countingParse) JSON.parse = countingParse
    }

    override encode(...args: Parameters<MessageEncoder['encode']>): EncodedMessage {
      const before = parses
      const out = super.encode(...args)
      if (out.bytes !== null && parses === before) this.scannedEvents += 1
      return out
    }
  }
}

/** MessageEncoder, counting its scanned-path events (see countingEncoderClass). */
export const CountingEncoder = countingEncoderClass(MessageEncoder)
