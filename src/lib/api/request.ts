import type { IncomingMessage } from 'node:http'

/** Pure helpers for the API's request handling: URL split, query/form decoding, content negotiation. */

const utf8 = new TextDecoder('utf-8', { fatal: false })

/** Splits a request target into path and raw query (no decoding of the path: routes are ASCII). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?')
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/**
 * Percent-decodes one `application/x-www-form-urlencoded` component from bytes to text. Bytes that
 * are not valid UTF-8 become U+FFFD, which the catalog's validation rejects as invalid_utf8.
 */
function decodeComponent(bytes: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start)
  let n = 0
  for (let i = start; i < end; i++) {
    const c = bytes[i]
    if (c === 0x2b) {
      out[n++] = 0x20
    } else if (c === 0x25 && i + 2 < end && hexValue(bytes[i + 1]) >= 0 && hexValue(bytes[i + 2]) >= 0) {
      out[n++] = hexValue(bytes[i + 1]) * 16 + hexValue(bytes[i + 2])
      i += 2
    } else {
      out[n++] = c
    }
  }
  return utf8.decode(out.subarray(0, n))
}

const PLAIN = /^[\x21-\x24\x26-\x2a\x2c-\x7e]*$/

/**
 * Parses a query string or form body. The first occurrence of a name wins. Accepts a string as Node
 * gives the request target (one char per byte, latin1) or the raw bytes of a body.
 */
export function parseForm(input: string | Buffer): Record<string, string> {
  // Fast path for the common plain-ASCII query without escapes: no byte decoding needed.
  if (typeof input === 'string' && PLAIN.test(input)) {
    const out: Record<string, string> = Object.create(null)
    for (const pair of input.split('&')) {
      if (pair === '') continue
      const eq = pair.indexOf('=')
      const name = eq === -1 ? pair : pair.slice(0, eq)
      if (!(name in out)) out[name] = eq === -1 ? '' : pair.slice(eq + 1)
    }
    return out
  }
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input
  const out: Record<string, string> = Object.create(null)
  let start = 0
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start)
    if (end === -1) end = bytes.length
    if (end > start) {
      let eq = bytes.indexOf(0x3d, start)
      if (eq === -1 || eq > end) eq = end
      const name = decodeComponent(bytes, start, eq)
      const value = eq < end ? decodeComponent(bytes, eq + 1, end) : ''
      if (!(name in out)) out[name] = value
    }
    start = end + 1
  }
  return out
}

/** Whether the client asked for JSON (Accept: application/json, not merely *\/*). */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false
  return /(^|[,\s])application\/(json|[\w.+-]*\+json)\s*(;|,|$)/i.test(accept)
}

/** The media type of a Content-Type header, lower-cased, parameters dropped. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return ''
  return contentType.split(';')[0].trim().toLowerCase()
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' }

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before reading; a body that grows past it stops being buffered at once (the rest is discarded).
 */
/** Most bytes and time spent reading a refused body so that the client gets to read the answer. */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024
export const MAX_DRAIN_MS = 5_000

/** Reads and drops the rest of a request body; true if it ended within the bounds. */
export function drainBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  if (req.complete || req.destroyed) return Promise.resolve(req.complete)
  return new Promise((resolve) => {
    let seen = 0
    const done = (ended: boolean) => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onFail)
      resolve(ended)
    }
    const onData = (chunk: Buffer) => {
      seen += chunk.length
      if (seen > maxBytes) done(false)
    }
    const onEnd = () => done(true)
    const onFail = () => done(req.complete)
    const timer = setTimeout(() => done(false), maxMs)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onFail)
    req.resume()
  })
}

/** Host headers in a raw header list (RFC 9112 wants exactly one). */
export function hostHeaderCount(rawHeaders: string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]
    if (name.length === 4 && name.toLowerCase() === 'host') n++
  }
  return n
}

export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.resolve({ ok: false, reason: 'too_large' })
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (result: BodyResult) => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onError)
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        chunks.length = 0
        // Keep draining (and dropping) so the socket is not stuck; the caller answers 413 and closes.
        req.resume()
        finish({ ok: false, reason: 'too_large' })
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) })
    const onError = () => finish({ ok: false, reason: 'aborted' })
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onError)
  })
}
