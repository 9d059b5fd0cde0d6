/**
 * An incremental HTTP/1.1 response parser for the open-model load generator: one keep-alive
 * connection, one request in flight, responses framed by Content-Length or chunked encoding (or, with
 * neither, by the server closing the connection). It reads the status code and the framing headers and
 * skips everything else; bodies are not kept.
 */

const CRLF = 0x0a
const MAX_HEAD = 64 * 1024

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'until-close'

export class ResponseParser {
  private state: State = 'head'
  private pending: Buffer | null = null
  private remaining = 0
  private status = 0
  private keepAlive = true

  /**
   * @param onResponse called once per complete response with its status and whether the connection may
   *   carry another request.
   */
  constructor(private readonly onResponse: (status: number, keepAlive: boolean) => void) {}

  /** True while a response has started but not ended. */
  get inResponse(): boolean {
    return this.state !== 'head' || this.pending !== null
  }

  /** Feeds bytes from the socket. Throws on a malformed response (the caller drops the connection). */
  execute(chunk: Buffer): void {
    let buf = chunk
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk])
      this.pending = null
    }
    let pos = 0
    const len = buf.length
    while (pos < len) {
      switch (this.state) {
        case 'head': {
          const end = buf.indexOf('\r\n\r\n', pos, 'latin1')
          if (end < 0) {
            if (len - pos > MAX_HEAD) throw new Error('response head too large')
            this.pending = buf.subarray(pos)
            return
          }
          this.parseHead(buf.toString('latin1', pos, end))
          pos = end + 4
          break
        }
        case 'body': {
          const take = Math.min(this.remaining, len - pos)
          this.remaining -= take
          pos += take
          if (this.remaining === 0) this.finish()
          break
        }
        case 'chunk-size': {
          const eol = buf.indexOf(CRLF, pos)
          if (eol < 0) {
            if (len - pos > 1024) throw new Error('chunk size line too long')
            this.pending = buf.subarray(pos)
            return
          }
          const line = buf
            .toString('latin1', pos, eol)
            .replace(/[;\r].*$/s, '')
            .trim()
          if (!/^[0-9a-fA-F]{1,8}$/.test(line)) throw new Error(`bad chunk size ${JSON.stringify(line)}`)
          this.remaining = Number.parseInt(line, 16)
          pos = eol + 1
          this.state = this.remaining === 0 ? 'trailer' : 'chunk-data'
          break
        }
        case 'chunk-data': {
          const take = Math.min(this.remaining, len - pos)
          this.remaining -= take
          pos += take
          if (this.remaining === 0) this.state = 'chunk-crlf'
          break
        }
        case 'chunk-crlf': {
          const eol = buf.indexOf(CRLF, pos)
          if (eol < 0) {
            this.pending = buf.subarray(pos)
            return
          }
          pos = eol + 1
          this.state = 'chunk-size'
          break
        }
        case 'trailer': {
          // trailer fields, then an empty line
          const eol = buf.indexOf(CRLF, pos)
          if (eol < 0) {
            this.pending = buf.subarray(pos)
            return
          }
          const empty = eol === pos || (eol === pos + 1 && buf[pos] === 0x0d)
          pos = eol + 1
          if (empty) this.finish()
          break
        }
        case 'until-close':
          return
      }
    }
  }

  /** The connection closed: a response framed by the close ends here. */
  end(): void {
    if (this.state === 'until-close') {
      this.keepAlive = false
      this.finish()
    }
  }

  private parseHead(head: string): void {
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(head)
    if (!m) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`)
    const status = Number(m[2])
    let length = -1
    let chunked = false
    let connection = ''
    let i = head.indexOf('\n') + 1
    while (i > 0 && i < head.length) {
      const eol = head.indexOf('\n', i)
      const line = head.slice(i, eol < 0 ? head.length : eol)
      i = eol < 0 ? head.length : eol + 1
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      if (name === 'content-length') length = Number(line.slice(colon + 1).trim())
      else if (name === 'transfer-encoding') chunked = /chunked/i.test(line.slice(colon + 1))
      else if (name === 'connection')
        connection = line
          .slice(colon + 1)
          .trim()
          .toLowerCase()
    }
    if (status >= 100 && status < 200) return // interim response: the real one follows
    this.status = status
    this.keepAlive = m[1] === '1' ? connection !== 'close' : connection === 'keep-alive'
    if (status === 204 || status === 304) {
      this.finish()
    } else if (chunked) {
      this.state = 'chunk-size'
    } else if (length >= 0 && Number.isFinite(length)) {
      this.remaining = length
      if (length === 0) this.finish()
      else this.state = 'body'
    } else {
      this.state = 'until-close'
    }
  }

  private finish(): void {
    this.state = 'head'
    this.onResponse(this.status, this.keepAlive)
  }
}
