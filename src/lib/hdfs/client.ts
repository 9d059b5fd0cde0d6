import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { WebHdfsRemoteCode } from '../error-codes.js'
import { ExitCode, GameError } from '../errors.js'

export interface WebHdfsClientOptions {
  /** http://host:port of the namenode (WebHDFS HTTP port, 9870 on Hadoop 3). */
  baseUrl: string
  /** user.name sent with every request (GAME_HDFS_USER). */
  user: string
  /** host[:port] that replaces the host of every 307 Location (GAME_DATANODE_HOST), for datanodes named inside docker. */
  datanodeHost?: string
  /** Namenode calls: whole-request timeout. Data transfers: idle timeout (no byte for this long). Default 30 s. */
  timeoutMs?: number
  /** Extra attempts for safe operations (reads, listings, GETFILESTATUS, MKDIRS). Default 2. */
  retries?: number
}

/** Data for CREATE/APPEND: bytes, a text, a stream, or a local file to stream. */
export type WebHdfsData = Buffer | Uint8Array | string | Readable | { file: string }

export interface HdfsFileStatus {
  pathSuffix: string
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK'
  length: number
  modificationTime: number
  accessTime: number
  /** Octal string, e.g. "644". */
  permission: string
  owner: string
  group: string
  replication: number
  blockSize: number
  childrenNum: number
  fileId: number
  symlink?: string
}

export interface HdfsContentSummary {
  directoryCount: number
  fileCount: number
  length: number
  quota: number
  spaceConsumed: number
  spaceQuota: number
  typeQuota?: Record<string, unknown>
}

export interface HdfsListingPage {
  entries: HdfsFileStatus[]
  remainingEntries: number
}

export interface WebHdfsErrorInit {
  status: number
  exception: string
  javaClassName?: string
  remoteMessage: string
  op: string
  path: string
}

const HINTS: Record<string, string> = {
  FileNotFoundException: 'The path does not exist (or is not a file for OPEN). Check it with a listing.',
  FileAlreadyExistsException: 'The file exists: create it with overwrite, or delete it first.',
  AccessControlException:
    'HDFS refused access for this user: check user.name (--hdfs-user / GAME_HDFS_USER) and the path permissions.',
  SecurityException:
    'HDFS did not accept the user: check user.name (--hdfs-user / GAME_HDFS_USER); Kerberos clusters are not supported.',
  IllegalArgumentException: 'The request was rejected as malformed (bad op, parameter or path).',
  UnsupportedOperationException: 'This WebHDFS server does not implement the operation.',
  StandbyException: 'That namenode is the HA standby: point GAME_LAKE at the active namenode.',
  RuntimeException: 'The WebHDFS server failed internally; check its logs.',
  IOException: 'HDFS reported an I/O error; check the namenode and datanode logs.',
  PathIsNotEmptyDirectoryException: 'The directory is not empty: delete it recursively.',
  ParentNotDirectoryException: 'A parent of the path is a file, not a directory.',
  EOFException: 'The offset is beyond the end of the file.',
  SafeModeException:
    'The namenode is in safe mode; wait for it to leave safe mode (hdfs dfsadmin -safemode get).',
}

/** A RemoteException (or an HTTP error) from a WebHDFS namenode or datanode. */
export class WebHdfsError extends GameError {
  readonly status: number
  readonly exception: string
  readonly javaClassName?: string
  readonly remoteMessage: string

  constructor(init: WebHdfsErrorInit) {
    const auth = init.exception === 'AccessControlException' || init.exception === 'SecurityException'
    const standby = init.exception === 'StandbyException' || init.exception === 'RetriableException'
    super(
      `WEBHDFS_${init.exception.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}` as WebHdfsRemoteCode,
      `WebHDFS ${init.op} ${init.path} failed: ${init.exception}: ${init.remoteMessage} (HTTP ${init.status})`,
      {
        hint:
          HINTS[init.exception] ??
          (init.status >= 500
            ? 'The WebHDFS server failed; check its logs.'
            : 'See the message; the WebHDFS REST reference lists the statuses.'),
        exitCode: auth ? ExitCode.config : standby ? ExitCode.unreachable : ExitCode.failure,
        retriable: standby || init.status === 503,
        details: {
          status: init.status,
          exception: init.exception,
          javaClassName: init.javaClassName,
          op: init.op,
          path: init.path,
        },
      },
    )
    this.name = 'WebHdfsError'
    this.status = init.status
    this.exception = init.exception
    this.javaClassName = init.javaClassName
    this.remoteMessage = init.remoteMessage
  }
}

type Step = 'namenode' | 'datanode'

interface SendOptions {
  method: string
  url: URL
  step: Step
  op: string
  path: string
  body?: WebHdfsData
  /** Whole-request timeout (namenode JSON calls); data transfers use an idle timeout instead. */
  total: boolean
  /**
   * A new connection instead of a pooled keep-alive one, for requests that are never retried: a
   * pooled socket the server is closing at that moment would fail them with ECONNRESET.
   */
  fresh?: boolean
}

/** One connection per request (no pooling), with Nagle off like pooled sockets. */
const FRESH_AGENT = new http.Agent({ keepAlive: false, noDelay: true } as http.AgentOptions)

const RETRIABLE_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN'])

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code
}

function isReadable(x: unknown): x is Readable {
  return (
    x instanceof Readable ||
    (typeof x === 'object' && x !== null && typeof (x as Readable).pipe === 'function')
  )
}

/** A small WebHDFS REST client (node:http): two-step CREATE/APPEND/OPEN with datanode host rewriting, typed errors. */
export class WebHdfsClient {
  readonly baseUrl: string
  readonly user: string
  readonly datanodeHost?: string
  readonly timeoutMs: number
  readonly retries: number

  constructor(options: WebHdfsClientOptions) {
    let u: URL
    try {
      u = new URL(options.baseUrl)
    } catch {
      throw new GameError('CONFIG_INVALID', `Invalid WebHDFS base URL ${JSON.stringify(options.baseUrl)}`, {
        exitCode: ExitCode.config,
        hint: 'Use http://host:9870 (set GAME_LAKE=hdfs://host:9870/path).',
      })
    }
    if (u.protocol !== 'http:') {
      throw new GameError('CONFIG_INVALID', `WebHDFS base URL must be http:// (got ${options.baseUrl})`, {
        exitCode: ExitCode.config,
        hint: 'swebhdfs/https is not supported; use the namenode HTTP port (9870).',
      })
    }
    this.baseUrl = `${u.protocol}//${u.host}`
    this.user = options.user
    this.datanodeHost = options.datanodeHost
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.retries = options.retries ?? 2
  }

  // ---- writes (two steps) -------------------------------------------------------------------

  /** CREATE: PUT to the namenode with no body, then the data to the 307 Location (expects 201). Never retried. */
  async create(
    hdfsPath: string,
    data: WebHdfsData,
    options: { overwrite?: boolean; permission?: string | number } = {},
  ): Promise<void> {
    const params: Record<string, string> = { overwrite: String(options.overwrite ?? false) }
    if (options.permission !== undefined) params.permission = permissionString(options.permission)
    await this.twoStep('PUT', 'CREATE', hdfsPath, params, data, 201)
  }

  /** CREATE from a local file, streamed. */
  async createFromFile(
    hdfsPath: string,
    localPath: string,
    options: { overwrite?: boolean; permission?: string | number } = {},
  ): Promise<void> {
    await this.create(hdfsPath, { file: localPath }, options)
  }

  /** APPEND: POST to the namenode with no body, then the data to the 307 Location (expects 200). Never retried. */
  async append(hdfsPath: string, data: WebHdfsData): Promise<void> {
    await this.twoStep('POST', 'APPEND', hdfsPath, {}, data, 200)
  }

  // ---- reads --------------------------------------------------------------------------------

  /** OPEN into memory; offset/length as query parameters. */
  async open(hdfsPath: string, options: { offset?: number; length?: number } = {}): Promise<Buffer> {
    return this.withRetry(async () => {
      const res = await this.openResponse(hdfsPath, options)
      const chunks: Buffer[] = []
      try {
        for await (const chunk of res) chunks.push(chunk as Buffer)
      } catch (error) {
        throw this.mapNetworkError(error, 'datanode', 'OPEN', hdfsPath)
      }
      return Buffer.concat(chunks)
    })
  }

  /** OPEN streamed to a local file (written to a temp name, renamed when complete). Returns the bytes written. */
  async openToFile(
    hdfsPath: string,
    localPath: string,
    options: { offset?: number; length?: number } = {},
  ): Promise<number> {
    const target = path.resolve(localPath)
    await fs.mkdir(path.dirname(target), { recursive: true })
    return this.withRetry(async () => {
      const tmp = `${target}.part-${randomBytes(6).toString('hex')}`
      try {
        const res = await this.openResponse(hdfsPath, options)
        let bytes = 0
        res.on('data', (c: Buffer) => {
          bytes += c.length
        })
        await pipeline(res, createWriteStream(tmp))
        await fs.rename(tmp, target)
        return bytes
      } catch (error) {
        await fs.rm(tmp, { force: true }).catch(() => {})
        throw this.mapNetworkError(error, 'datanode', 'OPEN', hdfsPath)
      }
    })
  }

  // ---- namenode operations ------------------------------------------------------------------

  async mkdirs(hdfsPath: string, options: { permission?: string | number } = {}): Promise<boolean> {
    const params: Record<string, string> = {}
    if (options.permission !== undefined) params.permission = permissionString(options.permission)
    const body = await this.withRetry(() => this.json('PUT', 'MKDIRS', hdfsPath, params))
    return booleanOf(body, 'MKDIRS', hdfsPath)
  }

  /** RENAME; HDFS's `{"boolean": false}` (missing source, missing destination parent, existing destination) is an error. Never retried. */
  async rename(from: string, to: string): Promise<void> {
    const destination = absolute(to)
    const body = await this.json('PUT', 'RENAME', from, { destination }, true)
    if (!booleanOf(body, 'RENAME', from)) {
      throw new GameError(
        'WEBHDFS_RENAME_FAILED',
        `WebHDFS RENAME ${absolute(from)} -> ${destination} returned false`,
        {
          hint: 'HDFS answers false when the source is missing, the destination parent does not exist, or the destination is an existing file. Check both paths with a listing.',
          details: { op: 'RENAME', from: absolute(from), to: destination },
        },
      )
    }
  }

  /** DELETE; false when nothing was there. */
  async delete(hdfsPath: string, recursive = false): Promise<boolean> {
    const body = await this.json('DELETE', 'DELETE', hdfsPath, { recursive: String(recursive) }, true)
    return booleanOf(body, 'DELETE', hdfsPath)
  }

  async listStatus(dir: string): Promise<HdfsFileStatus[]> {
    const body = await this.withRetry(() => this.json('GET', 'LISTSTATUS', dir, {}))
    const list = (body as { FileStatuses?: { FileStatus?: HdfsFileStatus[] } })?.FileStatuses?.FileStatus
    if (!Array.isArray(list)) throw this.badBody('LISTSTATUS', dir, body)
    return list
  }

  /** One page of LISTSTATUS_BATCH, after `startAfter` (a pathSuffix). */
  async listStatusBatch(dir: string, startAfter?: string): Promise<HdfsListingPage> {
    const params: Record<string, string> = {}
    if (startAfter !== undefined) params.startAfter = startAfter
    const body = await this.withRetry(() => this.json('GET', 'LISTSTATUS_BATCH', dir, params))
    const listing = (
      body as {
        DirectoryListing?: {
          partialListing?: { FileStatuses?: { FileStatus?: HdfsFileStatus[] } }
          remainingEntries?: number
        }
      }
    )?.DirectoryListing
    const entries = listing?.partialListing?.FileStatuses?.FileStatus
    if (!Array.isArray(entries) || typeof listing?.remainingEntries !== 'number')
      throw this.badBody('LISTSTATUS_BATCH', dir, body)
    return { entries, remainingEntries: listing.remainingEntries }
  }

  /** Every entry of a directory, following LISTSTATUS_BATCH pages until remainingEntries is 0. */
  async listStatusAll(dir: string): Promise<HdfsFileStatus[]> {
    const out: HdfsFileStatus[] = []
    let startAfter: string | undefined
    for (;;) {
      let page: HdfsListingPage
      try {
        page = await this.listStatusBatch(dir, startAfter)
      } catch (error) {
        // Servers without LISTSTATUS_BATCH (older HttpFS) reject the op with a 400: one LISTSTATUS instead.
        if (startAfter === undefined && error instanceof WebHdfsError && error.status === 400)
          return this.listStatus(dir)
        throw error
      }
      out.push(...page.entries)
      if (page.remainingEntries <= 0 || page.entries.length === 0) return out
      startAfter = page.entries[page.entries.length - 1].pathSuffix
    }
  }

  async getFileStatus(hdfsPath: string): Promise<HdfsFileStatus> {
    const body = await this.withRetry(() => this.json('GET', 'GETFILESTATUS', hdfsPath, {}))
    const st = (body as { FileStatus?: HdfsFileStatus })?.FileStatus
    if (!st || typeof st !== 'object') throw this.badBody('GETFILESTATUS', hdfsPath, body)
    return st
  }

  /** GETFILESTATUS, or undefined when the path does not exist. */
  async statOrUndefined(hdfsPath: string): Promise<HdfsFileStatus | undefined> {
    try {
      return await this.getFileStatus(hdfsPath)
    } catch (error) {
      if (error instanceof WebHdfsError && error.exception === 'FileNotFoundException') return undefined
      throw error
    }
  }

  async getContentSummary(hdfsPath: string): Promise<HdfsContentSummary> {
    const body = await this.withRetry(() => this.json('GET', 'GETCONTENTSUMMARY', hdfsPath, {}))
    const cs = (body as { ContentSummary?: HdfsContentSummary })?.ContentSummary
    if (!cs || typeof cs !== 'object') throw this.badBody('GETCONTENTSUMMARY', hdfsPath, body)
    return cs
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** The namenode URL of an operation (user.name always included). */
  url(op: string, hdfsPath: string, params: Record<string, string> = {}): URL {
    const encoded = absolute(hdfsPath)
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/')
    const u = new URL(`${this.baseUrl}/webhdfs/v1${encoded}`)
    u.searchParams.set('op', op)
    u.searchParams.set('user.name', this.user)
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
    return u
  }

  /** Applies datanodeHost to a redirect Location. */
  rewriteLocation(location: string): URL {
    const u = new URL(location, this.baseUrl)
    if (this.datanodeHost) {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(this.datanodeHost.trim())
      if (m) {
        u.hostname = m[1]
        if (m[2]) u.port = m[2]
      }
    }
    return u
  }

  private async openResponse(
    hdfsPath: string,
    options: { offset?: number; length?: number },
  ): Promise<http.IncomingMessage> {
    const params: Record<string, string> = {}
    if (options.offset !== undefined) params.offset = String(options.offset)
    if (options.length !== undefined) params.length = String(options.length)
    const location = await this.redirect('GET', 'OPEN', hdfsPath, params)
    const res = await this.send({
      method: 'GET',
      url: location,
      step: 'datanode',
      op: 'OPEN',
      path: hdfsPath,
      total: false,
    })
    if (res.statusCode !== 200) throw await this.errorFrom(res, 'OPEN', hdfsPath)
    return res
  }

  private async twoStep(
    method: 'PUT' | 'POST',
    op: string,
    hdfsPath: string,
    params: Record<string, string>,
    data: WebHdfsData,
    expected: number,
  ): Promise<void> {
    const location = await this.redirect(method, op, hdfsPath, params)
    const res = await this.send({
      method,
      url: location,
      step: 'datanode',
      op,
      path: hdfsPath,
      body: data,
      total: false,
      fresh: true,
    })
    if (res.statusCode !== expected && res.statusCode !== 200 && res.statusCode !== 201)
      throw await this.errorFrom(res, op, hdfsPath)
    res.resume()
  }

  /** Step 1: the namenode answers 307 (or 200 {"Location"}); returns the rewritten datanode URL. */
  private async redirect(
    method: string,
    op: string,
    hdfsPath: string,
    params: Record<string, string>,
  ): Promise<URL> {
    const attempt = async (): Promise<URL> => {
      const res = await this.send({
        method,
        url: this.url(op, hdfsPath, params),
        step: 'namenode',
        op,
        path: hdfsPath,
        total: true,
      })
      const status = res.statusCode ?? 0
      if (status === 307 || status === 302 || status === 303 || status === 301 || status === 308) {
        res.resume()
        const location = res.headers.location
        if (!location) throw this.badBody(op, hdfsPath, `HTTP ${status} without a Location header`)
        return this.rewriteLocation(location)
      }
      if (status === 200) {
        const body = await readJson(res)
        const location = (body as { Location?: string })?.Location
        if (typeof location === 'string') return this.rewriteLocation(location)
        throw this.badBody(op, hdfsPath, body)
      }
      throw await this.errorFrom(res, op, hdfsPath)
    }
    // Step 1 carries no data and changes nothing, so it may be repeated; the data step never is.
    return this.withRetry(attempt)
  }

  private async json(
    method: string,
    op: string,
    hdfsPath: string,
    params: Record<string, string>,
    fresh = false,
  ): Promise<unknown> {
    const res = await this.send({
      method,
      url: this.url(op, hdfsPath, params),
      step: 'namenode',
      op,
      path: hdfsPath,
      total: true,
      fresh,
    })
    if ((res.statusCode ?? 0) >= 300) throw await this.errorFrom(res, op, hdfsPath)
    try {
      return await readJson(res)
    } catch (error) {
      throw this.badBody(op, hdfsPath, (error as Error).message)
    }
  }

  private send(options: SendOptions): Promise<http.IncomingMessage> {
    const { method, url, body, step, op } = options
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      let settled = false
      const fail = (error: unknown) => {
        if (settled) return
        settled = true
        reject(this.mapNetworkError(error, step, op, options.path, url))
      }
      const headers: Record<string, string> = { 'X-XSRF-HEADER': 'game', 'user-agent': 'game-webhdfs' }
      let payload: Buffer | undefined
      let stream: Readable | undefined
      let file: string | undefined
      if (body === undefined) {
        if (method !== 'GET' && method !== 'DELETE') headers['content-length'] = '0'
      } else if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) {
        payload =
          typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.from(body)
        headers['content-length'] = String(payload.length)
        headers['content-type'] = 'application/octet-stream'
      } else if (isReadable(body)) {
        stream = body
        headers['content-type'] = 'application/octet-stream'
      } else {
        file = body.file
        headers['content-type'] = 'application/octet-stream'
      }

      const start = async () => {
        if (file !== undefined) {
          try {
            const st = await fs.stat(file)
            headers['content-length'] = String(st.size)
          } catch (error) {
            settled = true
            reject(
              new GameError(
                'LOCAL_FILE_UNREADABLE',
                `Cannot read local file ${file}: ${(error as Error).message}`,
                {
                  cause: error,
                },
              ),
            )
            return
          }
          stream = createReadStream(file, { highWaterMark: 1 << 20 })
        }
        const req = http.request(url, {
          method,
          headers,
          ...(options.fresh ? { agent: FRESH_AGENT } : {}),
          signal: options.total ? AbortSignal.timeout(this.timeoutMs) : undefined,
        })
        if (!options.total) {
          req.setTimeout(this.timeoutMs, () => {
            req.destroy(Object.assign(new Error(`no data for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }))
          })
        }
        req.on('response', (res) => {
          if (settled) {
            res.resume()
            return
          }
          settled = true
          if (stream) {
            stream.unpipe(req)
            // A file stream we opened is ours to close when the server answered before reading it all.
            if (file !== undefined && !stream.readableEnded) stream.destroy()
          }
          if (!options.total) {
            res.setTimeout?.(this.timeoutMs, () => {
              res.destroy(Object.assign(new Error(`no data for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }))
            })
          }
          resolve(res)
        })
        req.on('error', fail)
        if (payload) req.end(payload)
        else if (stream) {
          stream.on('error', (error) => {
            fail(
              new GameError(
                'LOCAL_READ_FAILED',
                `Reading the data to upload failed: ${(error as Error).message}`,
                {
                  cause: error,
                },
              ),
            )
            req.destroy()
          })
          stream.pipe(req)
        } else req.end()
      }
      void start()
    })
  }

  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    let attempt = 0
    for (;;) {
      try {
        return await fn()
      } catch (error) {
        const retriable =
          error instanceof GameError && error.retriable && error.details?.errno !== 'ECONNREFUSED'
        if (!retriable || attempt >= this.retries) throw error
        attempt++
        await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)))
      }
    }
  }

  private async errorFrom(res: http.IncomingMessage, op: string, hdfsPath: string): Promise<GameError> {
    const status = res.statusCode ?? 0
    let text = ''
    try {
      text = await readText(res, 64 * 1024)
    } catch {
      // the body is only for the message
    }
    let remote: { exception?: string; javaClassName?: string; message?: string } | undefined
    try {
      remote = (JSON.parse(text) as { RemoteException?: typeof remote })?.RemoteException
    } catch {
      remote = undefined
    }
    if (remote && typeof remote.exception === 'string') {
      return new WebHdfsError({
        status,
        exception: remote.exception,
        javaClassName: remote.javaClassName,
        remoteMessage: remote.message ?? '',
        op,
        path: absolute(hdfsPath),
      })
    }
    const snippet = text
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200)
    const err = new WebHdfsError({
      status,
      exception: status === 404 ? 'HttpNotFound' : `Http${status}`,
      remoteMessage: snippet || res.statusMessage || 'no body',
      op,
      path: absolute(hdfsPath),
    })
    if (status === 404) {
      return new GameError(err.code, err.message, {
        hint: `${this.baseUrl} answered 404 without a RemoteException: is it a WebHDFS namenode (dfs.webhdfs.enabled, path /webhdfs/v1)? Check GAME_LAKE.`,
        details: err.details,
      })
    }
    return err
  }

  private mapNetworkError(error: unknown, step: Step, op: string, hdfsPath: string, url?: URL): unknown {
    if (error instanceof GameError) return error
    const code = errnoOf(error)
    const address = url ? url.host : step === 'namenode' ? new URL(this.baseUrl).host : 'datanode'
    const name = (error as Error)?.name
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ABORT_ERR') {
      return new GameError(
        'WEBHDFS_TIMEOUT',
        `WebHDFS ${op} ${absolute(hdfsPath)} timed out at the ${step} ${address}`,
        {
          exitCode: ExitCode.unreachable,
          retriable: true,
          cause: error,
          hint: 'The WebHDFS server is slow or stuck; check it, or raise the timeout.',
          details: { step, address, errno: 'ETIMEDOUT' },
        },
      )
    }
    if (step === 'datanode' && (code === 'ENOTFOUND' || code === 'EAI_AGAIN')) {
      return new GameError(
        'WEBHDFS_DATANODE_UNRESOLVABLE',
        `The namenode redirected ${op} to datanode ${address}, which does not resolve from here`,
        {
          exitCode: ExitCode.unreachable,
          cause: error,
          hint: 'Set --datanode-host / GAME_DATANODE_HOST to a reachable host[:port] for the datanode (e.g. 127.0.0.1:9864 when docker publishes it).',
          details: { step, address, errno: code },
        },
      )
    }
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'EHOSTUNREACH' ||
      code === 'ENETUNREACH' ||
      code === 'EAI_AGAIN'
    ) {
      const hint =
        step === 'datanode'
          ? 'The datanode of the redirect is not reachable: set --datanode-host / GAME_DATANODE_HOST to its published host:port.'
          : 'run `game up` or set GAME_LAKE to a reachable WebHDFS namenode (hdfs://host:9870/path).'
      return new GameError('UNREACHABLE', `WebHDFS ${step} at ${address} is not reachable (${code})`, {
        exitCode: ExitCode.unreachable,
        retriable: code !== 'ECONNREFUSED',
        cause: error,
        hint,
        details: { service: `WebHDFS ${step}`, address, errno: code },
      })
    }
    if (code && RETRIABLE_ERRNO.has(code)) {
      return new GameError(
        'WEBHDFS_CONNECTION_LOST',
        `WebHDFS ${op} ${absolute(hdfsPath)}: ${(error as Error).message}`,
        {
          exitCode: ExitCode.unreachable,
          retriable: true,
          cause: error,
          hint: 'The connection to WebHDFS broke; try again.',
          details: { step, address, errno: code },
        },
      )
    }
    return new GameError(
      'WEBHDFS_FAILED',
      `WebHDFS ${op} ${absolute(hdfsPath)} failed: ${(error as Error)?.message ?? error}`,
      {
        cause: error,
        details: { step, address, errno: code },
      },
    )
  }

  private badBody(op: string, hdfsPath: string, body: unknown): GameError {
    return new GameError(
      'WEBHDFS_BAD_RESPONSE',
      `WebHDFS ${op} ${absolute(hdfsPath)}: unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`,
      {
        hint: `Is ${this.baseUrl} a WebHDFS namenode? Check GAME_LAKE.`,
      },
    )
  }
}

function absolute(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  if (parts.includes('..') || p.includes('\0')) {
    throw new GameError(
      'WEBHDFS_BAD_PATH',
      `Invalid HDFS path ${JSON.stringify(p)} ('..' and NUL are not allowed)`,
      {
        exitCode: ExitCode.usage,
        hint: 'Use an absolute HDFS path without ..',
      },
    )
  }
  return `/${parts.join('/')}`
}

function permissionString(p: string | number): string {
  return typeof p === 'number' ? p.toString(8) : p
}

function booleanOf(body: unknown, op: string, hdfsPath: string): boolean {
  const b = (body as { boolean?: unknown })?.boolean
  if (typeof b !== 'boolean') {
    throw new GameError(
      'WEBHDFS_BAD_RESPONSE',
      `WebHDFS ${op} ${absolute(hdfsPath)}: expected {"boolean": …}, got ${JSON.stringify(body)?.slice(0, 200)}`,
    )
  }
  return b
}

async function readText(res: http.IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res) {
    size += (chunk as Buffer).length
    if (size <= limit) chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function readJson(res: http.IncomingMessage): Promise<unknown> {
  const text = await readText(res)
  return text === '' ? {} : JSON.parse(text)
}
