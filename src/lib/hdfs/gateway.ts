import { randomUUID } from 'node:crypto'
import { createWriteStream, existsSync, constants as fsConstants, type Stats } from 'node:fs'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { GameError } from '../errors.js'
import { HDFS_BYTES_PER_CRC, HdfsChecksumBuilder, type HdfsFileChecksum } from './checksum.js'

/**
 * An embedded WebHDFS-compatible server (namenode and datanode roles on one node:http listener)
 * that keeps the HDFS namespace as plain files under `root`:
 *
 *   hdfs:/tmp/purchases/x.parquet  <->  <root>/tmp/purchases/x.parquet
 *
 * CREATE/APPEND/OPEN answer 307 to the same server with `datanode=true` (or 200 {"Location"} with
 * noredirect=true); the data step streams the body into <root>/.webhdfs-tmp and renames it into
 * place when complete, so a half-uploaded file is never visible. Like an unsecured namenode with
 * default settings (dfs.permissions.enabled=false, anonymous allowed), user.name is optional
 * (missing = dr.who) and permissions are recorded but not enforced.
 */
export interface WebHdfsGatewayOptions {
  /** Bind address; default 127.0.0.1. */
  host?: string
  /** 0 = ephemeral. */
  port: number
  /** Local directory holding the HDFS namespace (created if missing). */
  root: string
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra?: Record<string, unknown>) => void
  /** Entries per LISTSTATUS_BATCH page (dfs.ls.limit); default 1000. */
  listBatchSize?: number
  /** Answer 401 SecurityException when user.name is missing (a namenode with anonymous access off). Default false. */
  requireUser?: boolean
  /** Reported as the owner of every file (permissions are not enforced); default game. */
  owner?: string
  /** Reported as the group of every file; default supergroup. */
  group?: string
  /**
   * Host names (besides loopback names and the IP the client connected to) accepted in the `Host`
   * header. Anything else gets 400: a web page reached through DNS rebinding names its own host.
   */
  allowedHosts?: string[]
  /**
   * Require the `X-XSRF-HEADER` header on PUT/POST/DELETE, as Hadoop's REST CSRF protection
   * (dfs.webhdfs.rest-csrf.enabled) does: a browser cannot send it cross-origin without a
   * preflight. Default true.
   */
  requireXsrfHeader?: boolean
}

/** The header Hadoop's RestCsrfPreventionFilter requires on writes (any value). */
export const XSRF_HEADER = 'x-xsrf-header'
/** Longest path component accepted (NAME_MAX on Linux and macOS). */
const MAX_NAME_BYTES = 255

export interface WebHdfsGateway {
  host: string
  port: number
  /** http://host:port */
  url: string
  close(): Promise<void>
}

/** Where in-flight uploads live (inside root so the final rename is atomic); hidden from the namespace. */
export const GATEWAY_TMP_DIR = '.webhdfs-tmp'
/** Where owner, group and permission set through SETOWNER/SETPERMISSION are kept; hidden too. */
export const GATEWAY_META_DIR = '.webhdfs-meta'
/** Names at the root that are not part of the HDFS namespace. */
const RESERVED = new Set([GATEWAY_TMP_DIR, GATEWAY_META_DIR])
const DEFAULT_BLOCK_SIZE = 134_217_728
const PREFIX = '/webhdfs/v1'

class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    readonly javaClassName: string,
    message: string,
  ) {
    super(message)
  }
}

const fnf = (m: string) => new RemoteError(404, 'FileNotFoundException', 'java.io.FileNotFoundException', m)
const fae = (m: string) =>
  new RemoteError(403, 'FileAlreadyExistsException', 'org.apache.hadoop.fs.FileAlreadyExistsException', m)
const iae = (m: string) =>
  new RemoteError(400, 'IllegalArgumentException', 'java.lang.IllegalArgumentException', m)
const ace = (m: string) =>
  new RemoteError(403, 'AccessControlException', 'org.apache.hadoop.security.AccessControlException', m)
const ioe = (m: string) => new RemoteError(403, 'IOException', 'java.io.IOException', m)
const unsupported = (m: string) =>
  new RemoteError(400, 'UnsupportedOperationException', 'java.lang.UnsupportedOperationException', m)
const notDir = (m: string) =>
  new RemoteError(403, 'ParentNotDirectoryException', 'org.apache.hadoop.fs.ParentNotDirectoryException', m)
const hiae = (m: string) =>
  new RemoteError(
    400,
    'HadoopIllegalArgumentException',
    'org.apache.hadoop.HadoopIllegalArgumentException',
    m,
  )

const OPS: Record<string, { method: string; supported: boolean }> = {}
for (const op of [
  'OPEN',
  'GETFILESTATUS',
  'LISTSTATUS',
  'LISTSTATUS_BATCH',
  'GETCONTENTSUMMARY',
  'GETHOMEDIRECTORY',
  'GETFILECHECKSUM',
  'GETSERVERDEFAULTS',
  'GETTRASHROOT',
  'GETACLSTATUS',
  'CHECKACCESS',
  'GETXATTRS',
  'LISTXATTRS',
  'GETDELEGATIONTOKEN',
  'GETSTORAGEPOLICY',
  'GETQUOTAUSAGE',
  'GETFILEBLOCKLOCATIONS',
  'GETSTATUS',
])
  OPS[op] = { method: 'GET', supported: true }
for (const op of [
  'GETALLSTORAGEPOLICY',
  'GETSNAPSHOTDIFF',
  'GETSNAPSHOTTABLEDIRECTORYLIST',
  'GETECPOLICY',
  'GETECPOLICIES',
  'GETLINKTARGET',
  'GETFILELINKSTATUS',
  'GETSNAPSHOTLIST',
  'GETSNAPSHOTDIFFLISTING',
])
  OPS[op] = { method: 'GET', supported: false }
for (const op of ['CREATE', 'MKDIRS', 'RENAME', 'SETPERMISSION', 'SETOWNER', 'SETTIMES'])
  OPS[op] = { method: 'PUT', supported: true }
for (const op of [
  'CREATESYMLINK',
  'SETREPLICATION',
  'RENEWDELEGATIONTOKEN',
  'CANCELDELEGATIONTOKEN',
  'MODIFYACLENTRIES',
  'REMOVEACLENTRIES',
  'REMOVEDEFAULTACL',
  'REMOVEACL',
  'SETACL',
  'SETXATTR',
  'REMOVEXATTR',
  'CREATESNAPSHOT',
  'RENAMESNAPSHOT',
  'SETSTORAGEPOLICY',
  'SATISFYSTORAGEPOLICY',
  'ALLOWSNAPSHOT',
  'DISALLOWSNAPSHOT',
  'SETQUOTA',
  'SETQUOTABYSTORAGETYPE',
  'ENABLEECPOLICY',
  'DISABLEECPOLICY',
  'SETECPOLICY',
])
  OPS[op] = { method: 'PUT', supported: false }
for (const op of ['APPEND', 'CONCAT', 'TRUNCATE']) OPS[op] = { method: 'POST', supported: true }
for (const op of ['UNSETSTORAGEPOLICY', 'UNSETECPOLICY']) OPS[op] = { method: 'POST', supported: false }
OPS.DELETE = { method: 'DELETE', supported: true }
OPS.DELETESNAPSHOT = { method: 'DELETE', supported: false }

const METHOD_CLASS: Record<string, string> = {
  GET: 'GetOpParam',
  PUT: 'PutOpParam',
  POST: 'PostOpParam',
  DELETE: 'DeleteOpParam',
}

interface Resolved {
  /** Normalised absolute HDFS path, e.g. /tmp/a. */
  hdfs: string
  /** Path segments under root. */
  segments: string[]
  /** Absolute local path. */
  local: string
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(p)
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined
    throw e
  }
}

function boolParam(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name)
  if (v === null || v === '') return dflt
  const l = v.toLowerCase()
  if (l === 'true') return true
  if (l === 'false') return false
  throw iae(`Invalid value for webhdfs parameter "${name}": Failed to parse "${v}" to Boolean.`)
}

function longParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name)
  if (v === null || v === '') return undefined
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw iae(`Invalid value for webhdfs parameter "${name}": ${v} (expected a non-negative integer)`)
  return Number(v)
}

/** A time in ms since the epoch, or -1 (the default) for "leave it". */
function timeParam(q: URLSearchParams, name: string): number {
  const v = q.get(name)
  if (v === null || v === '' || v === '-1') return -1
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw iae(
      `Invalid value for webhdfs parameter "${name}": ${v} (expected milliseconds since the epoch or -1)`,
    )
  return Number(v)
}

/** Java's URI quoting of a path: ASCII outside RFC 2396's path characters is %-escaped, the rest is kept. */
function uriPath(p: string): string {
  return p.replace(/[^A-Za-z0-9\-_.!~*'();:@&=+$,/\u0080-\uffff]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  )
}

function permissionParam(q: URLSearchParams, dflt: number): number {
  const v = q.get('permission')
  if (v === null || v === '') return dflt
  if (!/^[01]?[0-7]{1,3}$/.test(v)) throw iae(`Invalid value for webhdfs parameter "permission": ${v}`)
  return Number.parseInt(v, 8) & 0o777
}

/** Hostname of a Host header value (brackets and port removed, lower case), or null if malformed. */
export function hostHeaderName(value: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(value.trim())
  return m ? m[1].replace(/^\[(.*)\]$/, '$1').toLowerCase() : null
}

function isLoopbackName(h: string): boolean {
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    h === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    (h.startsWith('::ffff:') && isLoopbackName(h.slice(7)))
  )
}

/** What SETOWNER/SETPERMISSION recorded for one path. */
interface PathAttrs {
  owner?: string
  group?: string
  /** Mode bits incl. the sticky bit (0o1777 at most). */
  permission?: number
}

/** One line of the attrs journal. */
type AttrsChange = { set: string; attrs: PathAttrs } | { drop: string } | { move: string; to: string }

/** Starts the embedded WebHDFS gateway. */
export async function startWebHdfsGateway(options: WebHdfsGatewayOptions): Promise<WebHdfsGateway> {
  const log = options.log ?? (() => {})
  const batchSize = Math.max(1, options.listBatchSize ?? 1000)
  const group = options.group ?? 'supergroup'
  const owner = options.owner ?? 'game'
  await fs.mkdir(options.root, { recursive: true })
  const root = await fs.realpath(options.root)
  const tmpDir = path.join(root, GATEWAY_TMP_DIR)
  // Leftovers of uploads cut short by a crash: never visible, removed at start.
  await fs.rm(tmpDir, { recursive: true, force: true })
  await fs.mkdir(tmpDir, { recursive: true })
  const appendLocks = new Map<string, Promise<unknown>>()
  /** Linux: directories can be addressed through their open handle (see verifiedDir). */
  const procFd = existsSync('/proc/self/fd')
  const allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()))
  const requireXsrf = options.requireXsrfHeader ?? true

  // Owner, group and permission set by SETOWNER/SETPERMISSION, by HDFS path. Like a namenode with
  // dfs.permissions.enabled=false they are recorded and shown, never enforced, and the backing
  // files keep modes the gateway itself can always use (a chmod 000 must not lock it out).
  const metaDir = path.join(root, GATEWAY_META_DIR)
  // A journal: one line per change (O(1) per SETOWNER even for distcp -p over a big tree), replayed
  // and rewritten compactly at start. A line cut short by a crash is skipped.
  const attrsLog = path.join(metaDir, 'attrs.jsonl')
  await fs.mkdir(metaDir, { recursive: true })
  const attrs = new Map<string, PathAttrs>()
  const underPath = (p: string, prefix: string) =>
    p === prefix || p.startsWith(prefix === '/' ? '/' : `${prefix}/`)
  /** Applies one change to the map; false when it changed nothing. */
  function applyAttrs(c: AttrsChange): boolean {
    if ('set' in c) {
      if (typeof c.set !== 'string' || typeof c.attrs !== 'object' || c.attrs === null)
        throw new Error('bad set')
      attrs.set(c.set, { ...attrs.get(c.set), ...c.attrs })
      return true
    }
    if ('drop' in c) {
      let changed = false
      for (const p of [...attrs.keys()]) if (underPath(p, c.drop)) changed = attrs.delete(p) || changed
      return changed
    }
    const moved: [string, PathAttrs][] = []
    for (const [p, a] of attrs) if (underPath(p, c.move)) moved.push([c.to + p.slice(c.move.length), a])
    if (moved.length === 0) return false
    for (const p of [...attrs.keys()]) if (underPath(p, c.move) || underPath(p, c.to)) attrs.delete(p)
    for (const [p, a] of moved) attrs.set(p, a)
    return true
  }
  let journal = ''
  try {
    journal = await fs.readFile(attrsLog, 'utf8')
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT')
      log('warn', `WebHDFS gateway: cannot read ${attrsLog}: ${(e as Error).message}`)
  }
  let skipped = 0
  for (const line of journal.split('\n')) {
    if (line === '') continue
    try {
      applyAttrs(JSON.parse(line) as AttrsChange)
    } catch {
      skipped++
    }
  }
  if (skipped > 0) log('warn', `WebHDFS gateway: skipped ${skipped} unreadable line(s) of ${attrsLog}`)
  if (journal !== '') {
    const tmp = path.join(metaDir, `attrs.${randomUUID()}.tmp`)
    await fs.writeFile(tmp, [...attrs].map(([p, a]) => `${JSON.stringify({ set: p, attrs: a })}\n`).join(''))
    await fs.rename(tmp, attrsLog)
  }
  let attrsWriting: Promise<void> = Promise.resolve()
  /** Applies a change and appends it to the journal; appends queue behind each other. */
  function recordAttrs(c: AttrsChange): Promise<void> {
    if (!applyAttrs(c)) return Promise.resolve()
    const line = `${JSON.stringify(c)}\n`
    attrsWriting = attrsWriting.catch(() => {}).then(() => fs.appendFile(attrsLog, line))
    return attrsWriting
  }
  const setAttrs = (hdfs: string, patch: PathAttrs) => recordAttrs({ set: hdfs, attrs: patch })
  /** After a delete (or a new file in its place): forget what was set on hdfs and below. */
  const dropAttrs = async (hdfs: string) => {
    if (attrs.size > 0) await recordAttrs({ drop: hdfs })
  }
  /** After a rename: what was set on from and below moves to to. */
  const moveAttrs = async (from: string, to: string) => {
    if (attrs.size > 0) await recordAttrs({ move: from, to })
  }
  const hdfsOf = (local: string) =>
    local === root ? '/' : `/${path.relative(root, local).split(path.sep).join('/')}`

  /**
   * The Host a request named, if we serve it: loopback names, configured names, or the literal IP
   * the client connected to (DNS rebinding always names the attacker's host, never our IP).
   */
  function checkedHost(req: http.IncomingMessage): string {
    const raw = req.headers.host
    if (raw === undefined)
      return `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`
    const name = hostHeaderName(raw)
    const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '')
    if (
      name === null ||
      !(isLoopbackName(name) || allowedHosts.has(name) || name === local || name === `::ffff:${local}`)
    )
      throw new RemoteError(
        400,
        'IllegalArgumentException',
        'java.lang.IllegalArgumentException',
        `Host ${JSON.stringify(raw.slice(0, 100))} is not served here; add it to hdfsAllowedHosts (GAME_HDFS_ALLOWED_HOSTS) to allow it`,
      )
    return raw.trim()
  }

  /** Parses and confines a raw (still percent-encoded) HDFS path. */
  async function resolve(raw: string): Promise<Resolved> {
    let decoded: string
    try {
      decoded = decodeURIComponent(raw)
    } catch {
      throw iae(`Invalid path name ${raw}: bad percent-encoding`)
    }
    return resolveDecoded(decoded)
  }

  async function resolveDecoded(decoded: string): Promise<Resolved> {
    if (decoded.includes('\0')) throw iae('Invalid path name: contains NUL')
    if (decoded !== '' && !decoded.startsWith('/')) throw iae(`Invalid path name ${decoded}: not absolute`)
    const segments = decoded.split('/').filter((s) => s !== '' && s !== '.')
    if (segments.includes('..')) throw ace(`Permission denied: path ${decoded} escapes the root`)
    if (RESERVED.has(segments[0])) throw ace(`Permission denied: ${decoded} is reserved`)
    for (const s of segments)
      if (Buffer.byteLength(s) > MAX_NAME_BYTES)
        throw iae(
          `Invalid path name: the component "${s.slice(0, 40)}..." is ${Buffer.byteLength(s)} bytes (at most ${MAX_NAME_BYTES})`,
        )
    if (Buffer.byteLength(decoded) > 3000) throw iae(`Invalid path name: longer than 3000 bytes`)
    const local = path.join(root, ...segments)
    // Symlinks must not lead out of root: check the real path of the deepest existing ancestor.
    let probe = local
    for (;;) {
      try {
        const real = await fs.realpath(probe)
        if (real !== root && !real.startsWith(root + path.sep))
          throw ace(`Permission denied: ${decoded} resolves outside the root`)
        break
      } catch (e) {
        if (e instanceof RemoteError) throw e
        if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR') throw e
        if (probe === root) break
        probe = path.dirname(probe)
      }
    }
    return { hdfs: `/${segments.join('/')}`, segments, local }
  }

  async function fileStatus(local: string, suffix: string, st?: Stats): Promise<Record<string, unknown>> {
    st ??= await fs.stat(local)
    const dir = st.isDirectory()
    let childrenNum = 0
    if (dir) {
      const names = await fs.readdir(local)
      childrenNum = names.filter((n) => !(local === root && RESERVED.has(n))).length
    }
    const a = attrs.size > 0 ? attrs.get(hdfsOf(local)) : undefined
    return {
      accessTime: dir ? 0 : Math.floor(st.atimeMs),
      blockSize: dir ? 0 : DEFAULT_BLOCK_SIZE,
      childrenNum,
      fileId: Number(st.ino),
      group: a?.group ?? group,
      length: dir ? 0 : st.size,
      modificationTime: Math.floor(st.mtimeMs),
      owner: a?.owner ?? owner,
      pathSuffix: suffix,
      permission: (a?.permission ?? st.mode & 0o777).toString(8),
      replication: dir ? 0 : 1,
      storagePolicy: 0,
      type: dir ? 'DIRECTORY' : 'FILE',
    }
  }

  async function listing(r: Resolved): Promise<{ names: string[]; self?: Record<string, unknown> }> {
    const st = await statOrUndefined(r.local)
    if (!st) throw fnf(`File ${r.hdfs} does not exist.`)
    if (!st.isDirectory()) return { names: [], self: await fileStatus(r.local, '', st) }
    const names = (await fs.readdir(r.local)).filter((n) => !(r.local === root && RESERVED.has(n)))
    names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    return { names }
  }

  async function statuses(r: Resolved, names: string[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = []
    for (const n of names) {
      const p = path.join(r.local, n)
      // A symlink that leads out of root is not listed (nor is its target's size leaked).
      const st = await statInside(p)
      if (st) out.push(await fileStatus(p, n, st)) // gone meanwhile: skip, like a listing taken a moment later
    }
    return out
  }

  /**
   * A path naming the directory root/segments that no symlink swapped in later can redirect:
   * on Linux each component is opened with O_NOFOLLOW relative to its already-open parent and
   * the result is addressed as /proc/self/fd/N; elsewhere the real path, checked to be in root.
   * A symlink on the way is ELOOP (403).
   */
  async function verifiedDir(segments: string[]): Promise<{ path: string; close(): Promise<void> }> {
    if (procFd) {
      let fh = await fs.open(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY)
      try {
        for (const s of segments) {
          const next = await fs.open(
            `/proc/self/fd/${fh.fd}/${s}`,
            fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW,
          )
          await fh.close()
          fh = next
        }
      } catch (e) {
        await fh.close()
        if (errnoOf(e) === 'ENOENT') throw fnf(`File /${segments.join('/')} does not exist.`)
        if (
          errnoOf(e) === 'ENOTDIR' &&
          (await fs.lstat(path.join(root, ...segments)).catch(() => null))?.isSymbolicLink()
        )
          throw ace('Permission denied: a symbolic link is in the way')
        throw e
      }
      const held = fh
      return { path: `/proc/self/fd/${held.fd}`, close: () => held.close() }
    }
    const real = await fs.realpath(path.join(root, ...segments))
    if (real !== root && !real.startsWith(root + path.sep))
      throw ace('Permission denied: resolves outside the root')
    return { path: real, close: async () => {} }
  }

  /** Where a child entry points, if it is a plain entry or a symlink that stays inside root. */
  async function statInside(p: string): Promise<Stats | undefined> {
    let st: Stats
    try {
      st = await fs.lstat(p)
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined
      throw e
    }
    if (!st.isSymbolicLink()) return st
    const real = await fs.realpath(p).catch(() => undefined)
    if (!real || (real !== root && !real.startsWith(root + path.sep))) return undefined
    return statOrUndefined(real)
  }

  /** Makes every missing directory of segments (mkdir -p); a file on the way is ParentNotDirectory. */
  async function mkdirs(segments: string[], mode: number): Promise<void> {
    let cur = root
    for (const s of segments) {
      cur = path.join(cur, s)
      const st = await statOrUndefined(cur)
      if (st) {
        if (!st.isDirectory())
          throw notDir(`/${path.relative(root, cur).split(path.sep).join('/')} (is not a directory)`)
        continue
      }
      try {
        await fs.mkdir(cur, { mode })
        await fs.chmod(cur, mode)
      } catch (e) {
        if (errnoOf(e) === 'EEXIST') {
          if (!(await fs.stat(cur)).isDirectory()) throw notDir(`${cur} is not a directory`)
          continue
        }
        throw e
      }
    }
  }

  function locationFor(req: http.IncomingMessage, r: Resolved, q: URLSearchParams): string {
    const host = checkedHost(req)
    const params = new URLSearchParams(q)
    params.delete('noredirect')
    params.set('datanode', 'true')
    const encoded = r.segments.map((s) => encodeURIComponent(s)).join('/')
    return `http://${host}${PREFIX}/${encoded}?${params.toString()}`
  }

  function redirect(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: Resolved,
    q: URLSearchParams,
  ): void {
    const location = locationFor(req, r, q)
    req.resume()
    if (boolParam(q, 'noredirect', false)) {
      sendJson(res, 200, { Location: location })
      return
    }
    res.writeHead(307, {
      Location: location,
      'Content-Type': 'application/octet-stream',
      'Content-Length': '0',
    })
    res.end()
  }

  async function create(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: Resolved,
    q: URLSearchParams,
  ) {
    const overwrite = boolParam(q, 'overwrite', false)
    const mode = permissionParam(q, 0o644)
    if (r.segments.length === 0) throw fae('/ already exists as a directory')
    const existing = await statOrUndefined(r.local)
    if (existing?.isDirectory()) throw fae(`${r.hdfs} already exists as a directory`)
    if (existing && !overwrite) throw fae(`${r.hdfs} for client ${req.socket.remoteAddress} already exists`)
    await mkdirs(r.segments.slice(0, -1), 0o755)
    const tmp = path.join(tmpDir, randomUUID())
    let dir: Awaited<ReturnType<typeof verifiedDir>> | undefined
    try {
      await pipeline(req, createWriteStream(tmp, { mode }))
      await fs.chmod(tmp, mode)
      // Publish into the directory as it is now, through a handle: a symlink swapped in for one
      // of its components while the body was uploading cannot send the file out of root.
      dir = await verifiedDir(r.segments.slice(0, -1))
      const target = path.join(dir.path, r.segments[r.segments.length - 1])
      if (overwrite) {
        await fs.rename(tmp, target)
      } else {
        try {
          await fs.link(tmp, target) // no-clobber publish: fails if a concurrent CREATE won
        } catch (e) {
          if (errnoOf(e) === 'EEXIST')
            throw fae(`${r.hdfs} for client ${req.socket.remoteAddress} already exists`)
          throw e
        }
        await fs.rm(tmp, { force: true })
      }
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => {})
      if (errnoOf(e) === 'EISDIR' || errnoOf(e) === 'ENOTEMPTY')
        throw fae(`${r.hdfs} already exists as a directory`)
      throw e
    } finally {
      await dir?.close()
    }
    // A new file: what SETOWNER/SETPERMISSION recorded for an earlier one at this path is gone.
    await dropAttrs(r.hdfs)
    // As a Hadoop datanode does: hdfs://<namenode>/<path> (its WebHdfsHandler builds the URI from
    // the namenode address it was sent; the REST docs' webhdfs:// example is not what it sends).
    const host = checkedHost(req)
    res.writeHead(201, { Location: `hdfs://${host}${uriPath(r.hdfs)}`, 'Content-Length': '0' })
    res.end()
  }

  async function append(req: http.IncomingMessage, res: http.ServerResponse, r: Resolved) {
    // Copy, append, rename (rewrite): readers see the old or the new file, never a half append.
    await rewrite(r, async (tmp, target) => {
      await fs.copyFile(target, tmp)
      await pipeline(req, createWriteStream(tmp, { flags: 'a' }))
    })
    res.writeHead(200, { 'Content-Length': '0' })
    res.end()
  }

  /** Runs changes of one file's content (APPEND, CONCAT, TRUNCATE) one after another. */
  async function serialized<T>(key: string, run: () => Promise<T>): Promise<T> {
    const prev = appendLocks.get(key) ?? Promise.resolve()
    const mine = prev.catch(() => {}).then(run)
    appendLocks.set(key, mine)
    try {
      return await mine
    } finally {
      if (appendLocks.get(key) === mine) appendLocks.delete(key)
    }
  }

  /** Opens a file for reading through its parent's handle with O_NOFOLLOW (a symlink swapped in is never read). */
  async function openNoFollow(r: Resolved): Promise<fs.FileHandle> {
    if (r.segments.length === 0) throw fnf(`Path is not a file: ${r.hdfs}`)
    const dir = await verifiedDir(r.segments.slice(0, -1))
    try {
      return await fs.open(
        path.join(dir.path, r.segments[r.segments.length - 1]),
        fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW,
      )
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw fnf(`File ${r.hdfs} does not exist.`)
      throw e
    } finally {
      await dir.close()
    }
  }

  async function fileChecksum(r: Resolved): Promise<HdfsFileChecksum> {
    const fh = await openNoFollow(r)
    try {
      if ((await fh.stat()).isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
      const sum = new HdfsChecksumBuilder(DEFAULT_BLOCK_SIZE)
      for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false }))
        sum.update(chunk as Buffer)
      return sum.result()
    } finally {
      await fh.close()
    }
  }

  /**
   * Replaces the file r names with a new one made by `build` from a copy in the temp dir, then
   * renames it into place: readers see the old or the new content, never a mix. Returns what
   * `build` returns. The file's mode is kept.
   */
  async function rewrite<T>(
    r: Resolved,
    build: (tmp: string, target: string, dirPath: string, st: Stats) => Promise<T>,
  ): Promise<T> {
    if (r.segments.length === 0) throw fnf(`Path is not a file: ${r.hdfs}`)
    return serialized(r.local, async () => {
      const dir = await verifiedDir(r.segments.slice(0, -1))
      const tmp = path.join(tmpDir, randomUUID())
      try {
        const target = path.join(dir.path, r.segments[r.segments.length - 1])
        const st = await fs.lstat(target).catch(() => undefined)
        if (!st) throw fnf(`File ${r.hdfs} does not exist.`)
        if (st.isSymbolicLink()) throw ace(`Permission denied: ${r.hdfs} is a symbolic link`)
        if (st.isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
        const out = await build(tmp, target, dir.path, st)
        if (await statOrUndefined(tmp)) {
          await fs.chmod(tmp, st.mode & 0o777)
          await fs.rename(tmp, target)
        }
        return out
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => {})
        throw e
      } finally {
        await dir.close()
      }
    })
  }

  async function concat(r: Resolved, q: URLSearchParams): Promise<void> {
    const list = (q.get('sources') ?? '').split(',').filter((s) => s !== '')
    if (list.length === 0) throw iae('Required param sources for op: CONCAT is null or empty')
    const targetDir = r.segments.slice(0, -1).join('/')
    const names: string[] = []
    const sources: Resolved[] = []
    for (const s of list) {
      if (!s.startsWith('/')) throw iae(`Invalid value for webhdfs parameter "sources": ${s} is not absolute`)
      const src = await resolveDecoded(s)
      if (src.segments.length === 0 || src.segments.slice(0, -1).join('/') !== targetDir)
        throw hiae(`Source file ${src.hdfs} is not in the same directory with the target ${r.hdfs}`)
      if (src.hdfs === r.hdfs)
        throw hiae(`concat: the src file ${src.hdfs} is the same with the target file ${r.hdfs}`)
      if (sources.some((o) => o.hdfs === src.hdfs))
        throw hiae('concat: at least two of the source files are the same')
      sources.push(src)
      names.push(src.segments[src.segments.length - 1])
    }
    await rewrite(r, async (tmp, target, dirPath) => {
      const parts: string[] = []
      for (const [i, name] of names.entries()) {
        const p = path.join(dirPath, name)
        const st = await fs.lstat(p).catch(() => undefined)
        if (!st) throw fnf(`File ${sources[i].hdfs} does not exist.`)
        if (st.isSymbolicLink()) throw ace(`Permission denied: ${sources[i].hdfs} is a symbolic link`)
        if (!st.isFile()) throw fnf(`Path is not a file: ${sources[i].hdfs}`)
        if (st.size === 0)
          throw hiae(`concat: source file ${sources[i].hdfs} is invalid or empty or underConstruction`)
        parts.push(p)
      }
      await fs.copyFile(target, tmp)
      for (const p of parts) {
        const fh = await fs.open(p, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)
        await pipeline(
          fh.createReadStream({ highWaterMark: 1 << 20 }),
          createWriteStream(tmp, { flags: 'a' }),
        )
      }
      // Like HDFS, the sources are gone once their data is part of the target.
      await fs.chmod(tmp, (await fs.stat(target)).mode & 0o777)
      await fs.rename(tmp, target)
      for (const p of parts) await fs.rm(p, { force: true })
    })
    for (const s of sources) await dropAttrs(s.hdfs)
  }

  async function truncate(r: Resolved, q: URLSearchParams): Promise<boolean> {
    const newLength = longParam(q, 'newlength')
    if (newLength === undefined) throw iae('Required param newlength for op: TRUNCATE is null or empty')
    await rewrite(r, async (tmp, target, _dir, st) => {
      if (newLength > st.size)
        throw hiae(
          `Cannot truncate to a larger file size. Current size: ${st.size}, truncate size: ${newLength}.`,
        )
      if (newLength === st.size) return
      await fs.copyFile(target, tmp)
      await fs.truncate(tmp, newLength)
    })
    // The new length holds at once (no block recovery here), so the file can be appended to now.
    return true
  }

  async function open(res: http.ServerResponse, r: Resolved, q: URLSearchParams) {
    const offset = longParam(q, 'offset') ?? 0
    const length = longParam(q, 'length')
    const fh = await openNoFollow(r)
    let streaming = false
    try {
      const st = await fh.stat()
      if (st.isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
      if (offset > st.size) throw ioe(`Offset=${offset} out of the range [0, ${st.size}]`)
      const count = Math.min(length ?? st.size - offset, st.size - offset)
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(count) })
      if (count === 0) {
        res.end()
        return
      }
      streaming = true
      await pipeline(
        fh.createReadStream({
          start: offset,
          end: offset + count - 1,
          highWaterMark: 1 << 20,
          autoClose: true,
        }),
        res,
      )
    } finally {
      if (!streaming) await fh.close()
    }
  }

  /** Returns the HDFS path the source now has, or undefined where HDFS answers false. */
  async function rename(r: Resolved, q: URLSearchParams): Promise<string | undefined> {
    const destination = q.get('destination')
    if (!destination) throw iae('Required param destination for op: RENAME is null or empty')
    if (!destination.startsWith('/'))
      throw iae(`Invalid value for webhdfs parameter "destination": ${destination} is not absolute`)
    const d = await resolveDecoded(destination)
    if (r.segments.length === 0 || d.segments.length === 0) return undefined
    const src = await statOrUndefined(r.local)
    if (!src) return undefined
    if (d.hdfs === r.hdfs) return src.isFile() ? r.hdfs : undefined
    if (d.hdfs.startsWith(`${r.hdfs}/`)) return undefined
    let target = d.local
    let targetHdfs = d.hdfs
    const dst = await statOrUndefined(d.local)
    if (dst?.isDirectory()) {
      // HDFS moves the source into an existing destination directory.
      target = path.join(d.local, r.segments[r.segments.length - 1])
      targetHdfs = `${d.hdfs}/${r.segments[r.segments.length - 1]}`
      if (await statOrUndefined(target)) return undefined
    } else if (dst) {
      return undefined
    } else {
      const parent = await statOrUndefined(path.dirname(d.local))
      if (!parent?.isDirectory()) return undefined
    }
    try {
      await fs.rename(r.local, target)
    } catch (e) {
      const code = errnoOf(e)
      if (
        code === 'ENOENT' ||
        code === 'ENOTEMPTY' ||
        code === 'EEXIST' ||
        code === 'ENOTDIR' ||
        code === 'EISDIR'
      )
        return undefined
      throw e
    }
    return targetHdfs
  }

  async function remove(r: Resolved, q: URLSearchParams): Promise<boolean> {
    const recursive = boolParam(q, 'recursive', false)
    if (r.segments.length === 0) return false
    let st: Stats
    try {
      st = await fs.lstat(r.local)
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return false
      throw e
    }
    try {
      if (st.isDirectory()) {
        if (!recursive) {
          const names = await fs.readdir(r.local)
          if (names.length > 0)
            throw new RemoteError(
              403,
              'PathIsNotEmptyDirectoryException',
              'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
              `\`${r.hdfs} is non empty': Directory is not empty`,
            )
          await fs.rmdir(r.local)
        } else {
          await fs.rm(r.local, { recursive: true, force: true })
        }
      } else {
        await fs.unlink(r.local)
      }
    } catch (e) {
      // Deleted by a concurrent request between the lstat and here: like HDFS, nothing was deleted.
      if (errnoOf(e) === 'ENOENT') return false
      throw e
    }
    return true
  }

  async function existing(r: Resolved): Promise<Stats> {
    const st = await statOrUndefined(r.local)
    if (!st) throw fnf(`File does not exist: ${r.hdfs}`)
    return st
  }

  function sendEmpty(res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Length': '0' })
    res.end()
  }

  /** BlockLocation entries of the 128 MiB blocks that [offset, offset+length) touches; all on this node. */
  async function blockLocations(
    req: http.IncomingMessage,
    r: Resolved,
    q: URLSearchParams,
  ): Promise<Record<string, unknown>[]> {
    const offset = longParam(q, 'offset') ?? 0
    const length = longParam(q, 'length') ?? Number.MAX_SAFE_INTEGER
    const st = await existing(r)
    if (st.isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
    const hostName = hostHeaderName(checkedHost(req)) ?? address.address
    const ip = (req.socket.localAddress ?? address.address).replace(/^::ffff:/, '')
    const name = `${ip.includes(':') ? `[${ip}]` : ip}:${address.port}`
    const out: Record<string, unknown>[] = []
    const end = Math.min(st.size, offset + length)
    for (
      let start = Math.floor(offset / DEFAULT_BLOCK_SIZE) * DEFAULT_BLOCK_SIZE;
      start < end;
      start += DEFAULT_BLOCK_SIZE
    )
      out.push({
        cachedHosts: [],
        corrupt: false,
        hosts: [hostName],
        length: Math.min(DEFAULT_BLOCK_SIZE, st.size - start),
        names: [name],
        offset: start,
        storageTypes: ['DISK'],
        topologyPaths: [`/default-rack/${name}`],
      })
    return out
  }

  async function contentSummary(r: Resolved): Promise<Record<string, unknown>> {
    const { directoryCount, fileCount, length } = await usage(r)
    return {
      ContentSummary: {
        directoryCount,
        ecPolicy: '',
        fileCount,
        length,
        quota: -1,
        spaceConsumed: length,
        spaceQuota: -1,
        typeQuota: {},
      },
    }
  }

  async function usage(r: Resolved): Promise<{ directoryCount: number; fileCount: number; length: number }> {
    const st = await statOrUndefined(r.local)
    if (!st) throw fnf(`File does not exist: ${r.hdfs}`)
    let directoryCount = 0
    let fileCount = 0
    let length = 0
    const walk = async (p: string, s: Stats) => {
      if (s.isDirectory()) {
        directoryCount++
        for (const n of await fs.readdir(p)) {
          if (p === root && RESERVED.has(n)) continue
          const c = path.join(p, n)
          // Symlinks are never followed: a link to /etc must not be walked or counted.
          const cs = await fs.lstat(c).catch(() => undefined)
          if (cs && !cs.isSymbolicLink()) await walk(c, cs)
        }
      } else {
        fileCount++
        length += s.size
      }
    }
    await walk(r.local, st)
    return { directoryCount, fileCount, length }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = req.url ?? '/'
    const qi = raw.indexOf('?')
    const rawPath = qi < 0 ? raw : raw.slice(0, qi)
    const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1))
    if (rawPath !== PREFIX && !rawPath.startsWith(`${PREFIX}/`)) {
      req.resume()
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`Not found: ${rawPath} (this is a WebHDFS gateway; use ${PREFIX}/<path>?op=...)\n`)
      return
    }
    const method = req.method ?? 'GET'
    checkedHost(req)
    if (
      requireXsrf &&
      (method === 'PUT' || method === 'POST' || method === 'DELETE') &&
      req.headers[XSRF_HEADER] === undefined
    )
      throw new RemoteError(
        400,
        'IllegalArgumentException',
        'java.lang.IllegalArgumentException',
        'Missing Required Header for CSRF Vulnerability Protection: send X-XSRF-HEADER on PUT, POST and DELETE',
      )
    const opName = (q.get('op') ?? '').toUpperCase()
    const methodClass = METHOD_CLASS[method]
    if (!methodClass) {
      req.resume()
      throw new RemoteError(
        405,
        'IllegalArgumentException',
        'java.lang.IllegalArgumentException',
        `HTTP method ${method} is not supported`,
      )
    }
    const op = OPS[opName]
    if (!op || op.method !== method) {
      throw iae(
        `Invalid value for webhdfs parameter "op": No enum constant org.apache.hadoop.hdfs.web.resources.${methodClass}.Op.${q.get('op') ?? 'null'}`,
      )
    }
    if (!op.supported) throw unsupported(`Operation ${opName} is not supported by the game WebHDFS gateway`)
    let user = q.get('user.name')
    if (!user) {
      if (options.requireUser)
        throw new RemoteError(
          401,
          'SecurityException',
          'java.lang.SecurityException',
          'Failed to obtain user group information: user.name is missing',
        )
      user = 'dr.who'
    }
    const r = await resolve(rawPath.slice(PREFIX.length))
    const datanode = q.get('datanode') === 'true'
    log('debug', `${method} ${opName} ${r.hdfs}${datanode ? ' (datanode)' : ''}`, { user })

    switch (opName) {
      case 'CREATE':
        if (!datanode) {
          // Check early (a real namenode leaves this to the datanode step, which checks again).
          const overwrite = boolParam(q, 'overwrite', false)
          permissionParam(q, 0o644)
          const st = await statOrUndefined(r.local)
          if (st?.isDirectory() || r.segments.length === 0)
            throw fae(`${r.hdfs} already exists as a directory`)
          if (st && !overwrite) throw fae(`${r.hdfs} for client ${req.socket.remoteAddress} already exists`)
          return redirect(req, res, r, q)
        }
        return create(req, res, r, q)
      case 'APPEND':
        if (!datanode) {
          const st = await statOrUndefined(r.local)
          if (!st) throw fnf(`File ${r.hdfs} does not exist.`)
          return redirect(req, res, r, q)
        }
        return append(req, res, r)
      case 'OPEN':
        if (!datanode) {
          longParam(q, 'offset')
          longParam(q, 'length')
          const st = await statOrUndefined(r.local)
          if (!st) throw fnf(`File ${r.hdfs} does not exist.`)
          if (st.isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
          return redirect(req, res, r, q)
        }
        return open(res, r, q)
      case 'GETFILECHECKSUM':
        // A namenode sends this to a datanode that holds the blocks, as for OPEN.
        if (!datanode) {
          const st = await statOrUndefined(r.local)
          if (!st) throw fnf(`File does not exist: ${r.hdfs}`)
          if (st.isDirectory()) throw fnf(`Path is not a file: ${r.hdfs}`)
          return redirect(req, res, r, q)
        }
        req.resume()
        return sendJson(res, 200, { FileChecksum: await fileChecksum(r) })
    }
    req.resume()
    switch (opName) {
      case 'GETFILESTATUS': {
        const st = await statOrUndefined(r.local)
        if (!st) throw fnf(`File does not exist: ${r.hdfs}`)
        return sendJson(res, 200, { FileStatus: await fileStatus(r.local, '', st) })
      }
      case 'LISTSTATUS': {
        const l = await listing(r)
        const list = l.self ? [l.self] : await statuses(r, l.names)
        return sendJson(res, 200, { FileStatuses: { FileStatus: list } })
      }
      case 'LISTSTATUS_BATCH': {
        const l = await listing(r)
        if (l.self) {
          return sendJson(res, 200, {
            DirectoryListing: {
              partialListing: { FileStatuses: { FileStatus: [l.self] } },
              remainingEntries: 0,
            },
          })
        }
        const after = q.get('startAfter')
        const rest = after
          ? l.names.filter((n) => Buffer.compare(Buffer.from(n), Buffer.from(after)) > 0)
          : l.names
        const page = rest.slice(0, batchSize)
        return sendJson(res, 200, {
          DirectoryListing: {
            partialListing: { FileStatuses: { FileStatus: await statuses(r, page) } },
            remainingEntries: rest.length - page.length,
          },
        })
      }
      case 'GETCONTENTSUMMARY':
        return sendJson(res, 200, await contentSummary(r))
      case 'GETHOMEDIRECTORY':
        return sendJson(res, 200, { Path: `/user/${user}` })
      case 'MKDIRS': {
        const mode = permissionParam(q, 0o755)
        const st = await statOrUndefined(r.local)
        if (st && !st.isDirectory()) throw fae(`Path is not a directory: ${r.hdfs}`)
        await mkdirs(r.segments, mode)
        return sendJson(res, 200, { boolean: true })
      }
      case 'RENAME': {
        const to = await rename(r, q)
        if (to && to !== r.hdfs) await moveAttrs(r.hdfs, to)
        return sendJson(res, 200, { boolean: to !== undefined })
      }
      case 'DELETE': {
        const deleted = await remove(r, q)
        if (deleted) await dropAttrs(r.hdfs)
        return sendJson(res, 200, { boolean: deleted })
      }
      case 'GETSERVERDEFAULTS':
        // A plain namenode's defaults (JsonUtil's FsServerDefaults map): CRC32C (checksumType 2)
        // per 512 bytes, no trash (fs.trash.interval=0), no KMS, HOT (7) storage policy.
        return sendJson(res, 200, {
          FsServerDefaults: {
            blockSize: DEFAULT_BLOCK_SIZE,
            bytesPerChecksum: HDFS_BYTES_PER_CRC,
            writePacketSize: 65_536,
            replication: 1,
            fileBufferSize: 4096,
            encryptDataTransfer: false,
            trashInterval: 0,
            checksumType: 2,
            keyProviderUri: '',
            defaultStoragePolicyId: 7,
          },
        })
      case 'GETDELEGATIONTOKEN':
        // Security is off, so a namenode issues no tokens: {"Token": null}, which the client takes
        // as "no token needed" (its insecure-cluster fallback).
        if (q.get('delegation')) throw iae('delegation parameter is not null.')
        return sendJson(res, 200, { Token: null })
      case 'GETTRASHROOT':
        return sendJson(res, 200, { Path: `/user/${user}/.Trash` })
      case 'GETACLSTATUS': {
        // No ACLs here: HDFS answers a path without ACL entries with its permission bits only.
        const st = await existing(r)
        const a = attrs.get(r.hdfs)
        const perm = a?.permission ?? st.mode & 0o777
        return sendJson(res, 200, {
          AclStatus: {
            entries: [],
            group: a?.group ?? group,
            owner: a?.owner ?? owner,
            permission: perm.toString(8),
            stickyBit: (perm & 0o1000) !== 0,
          },
        })
      }
      case 'CHECKACCESS': {
        const action = q.get('fsaction')
        if (!action || !/^[r-][w-][x-]$/.test(action))
          throw iae(
            `Invalid value for webhdfs parameter "fsaction": ${action ?? 'null'} (expected [r-][w-][x-])`,
          )
        await existing(r)
        // Permissions are not enforced (dfs.permissions.enabled=false): every user may do everything.
        return sendEmpty(res)
      }
      case 'GETXATTRS': {
        const encoding = q.get('encoding')
        if (encoding && !/^(text|hex|base64)$/i.test(encoding))
          throw iae(`Invalid value for webhdfs parameter "encoding": ${encoding}`)
        const names = q.getAll('xattr.name')
        for (const n of names)
          if (!/^(user|trusted|system|security|raw)\..+$/i.test(n))
            throw iae(`Invalid value for webhdfs parameter "xattr.name": ${n}`)
        await existing(r)
        // No extended attributes are kept: asking for named ones fails as it does on HDFS.
        if (names.length > 0) throw ioe('At least one of the attributes provided was not found.')
        return sendJson(res, 200, { XAttrs: [] })
      }
      case 'LISTXATTRS':
        await existing(r)
        // JsonUtil writes the names as a JSON text inside the JSON (what JsonUtilClient parses).
        return sendJson(res, 200, { XAttrNames: '[]' })
      case 'GETSTORAGEPOLICY':
        await existing(r)
        // Every path has the default policy, HOT (all replicas on DISK).
        return sendJson(res, 200, {
          BlockStoragePolicy: {
            copyOnCreateFile: false,
            creationFallbacks: [],
            id: 7,
            name: 'HOT',
            replicationFallbacks: ['ARCHIVE'],
            storageTypes: ['DISK'],
          },
        })
      case 'GETQUOTAUSAGE': {
        const u = await usage(r)
        return sendJson(res, 200, {
          QuotaUsage: {
            fileAndDirectoryCount: u.fileCount + u.directoryCount,
            quota: -1,
            spaceConsumed: u.length,
            spaceQuota: -1,
            typeQuota: {},
          },
        })
      }
      case 'GETFILEBLOCKLOCATIONS':
        return sendJson(res, 200, { BlockLocations: { BlockLocation: await blockLocations(req, r, q) } })
      case 'GETSTATUS': {
        const sf = await fs.statfs(root)
        const capacity = sf.blocks * sf.bsize
        return sendJson(res, 200, {
          FsStatus: { capacity, used: (sf.blocks - sf.bfree) * sf.bsize, remaining: sf.bavail * sf.bsize },
        })
      }
      case 'SETPERMISSION': {
        const v = q.get('permission') || '755'
        if (!/^[01]?[0-7]{1,3}$/.test(v)) throw iae(`Invalid value for webhdfs parameter "permission": ${v}`)
        await existing(r)
        await setAttrs(r.hdfs, { permission: Number.parseInt(v, 8) & 0o1777 })
        return sendEmpty(res)
      }
      case 'SETOWNER': {
        const o = q.get('owner') || undefined
        const g = q.get('group') || undefined
        if (o === undefined && g === undefined) throw iae('Both owner and group are empty.')
        for (const [name, v] of [
          ['owner', o],
          ['group', g],
        ])
          if (v !== undefined && (v.length > 256 || /[\s:/]/.test(v)))
            throw iae(`Invalid value for webhdfs parameter "${name}": ${v.slice(0, 40)}`)
        await existing(r)
        await setAttrs(r.hdfs, { ...(o ? { owner: o } : {}), ...(g ? { group: g } : {}) })
        return sendEmpty(res)
      }
      case 'SETTIMES': {
        const mtime = timeParam(q, 'modificationtime')
        const atime = timeParam(q, 'accesstime')
        const st = await existing(r)
        if (mtime === -1 && atime === -1) return sendEmpty(res)
        // libuv keeps microseconds and truncates: half a millisecond more makes the stored time
        // read back as exactly the milliseconds sent, whatever the float rounding.
        const secs = (ms: number) => (ms + 0.5) / 1000
        await fs.utimes(
          r.local,
          secs(atime === -1 ? Math.floor(st.atimeMs) : atime),
          secs(mtime === -1 ? Math.floor(st.mtimeMs) : mtime),
        )
        return sendEmpty(res)
      }
      case 'CONCAT':
        await concat(r, q)
        return sendEmpty(res)
      case 'TRUNCATE':
        return sendJson(res, 200, { boolean: await truncate(r, q) })
    }
    throw unsupported(`Operation ${opName} is not supported by the game WebHDFS gateway`)
  }

  function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    res.end(text)
  }

  function sendError(req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void {
    const remote =
      error instanceof RemoteError
        ? error
        : errnoOf(error) === 'ENOSPC'
          ? ioe('No space left on device')
          : errnoOf(error) === 'EACCES' || errnoOf(error) === 'EPERM'
            ? ace(`Permission denied (${errnoOf(error)})`)
            : errnoOf(error) === 'ENAMETOOLONG'
              ? iae('Invalid path name: too long')
              : errnoOf(error) === 'ELOOP'
                ? ace('Permission denied: a symbolic link is in the way')
                : new RemoteError(
                    500,
                    'RuntimeException',
                    'java.lang.RuntimeException',
                    // Never the local path: errno messages name it. The log has the full text.
                    `Internal error${errnoOf(error) ? ` (${errnoOf(error)})` : ''}; see the gateway log`,
                  )
    if (res.headersSent || res.destroyed) {
      log('debug', `WebHDFS ${req.method} ${req.url} cut short: ${remote.message}`)
      res.destroy()
      return
    }
    if (remote.status >= 500)
      log('error', `WebHDFS ${req.method} ${req.url} failed: ${(error as Error)?.message ?? String(error)}`)
    else log('debug', `WebHDFS ${req.method} ${req.url} -> ${remote.status} ${remote.exception}`)
    if (res.headersSent || res.destroyed) {
      res.destroy()
      return
    }
    // The body may still be coming: answer now and close, rather than reading gigabytes to reject them.
    const text = JSON.stringify({
      RemoteException: {
        exception: remote.exception,
        javaClassName: remote.javaClassName,
        message: remote.message,
      },
    })
    res.writeHead(remote.status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
      ...(req.complete ? {} : { Connection: 'close' }),
    })
    res.end(text)
    if (!req.complete) req.resume()
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on('error', () => {}) // aborted uploads surface through the pipeline
    handle(req, res).catch((error) => {
      try {
        sendError(req, res, error)
      } catch {
        res.destroy()
      }
    })
  }
  const server = http.createServer(onRequest)
  // Big uploads may take longer than Node's 5-minute whole-request limit: drop that limit and cut
  // only connections that stay silent for 2 minutes.
  server.requestTimeout = 0
  server.setTimeout(120_000, (socket) => socket.destroy())
  // `Expect: 100-continue` (curl -T): invite the body only on the data step. The namenode step
  // answers its 307 at once, so the client sends the data once, to the datanode role.
  server.on('checkContinue', (req, res) => {
    if (/[?&]datanode=true(&|$)/.test(req.url ?? '')) res.writeContinue()
    else res.shouldKeepAlive = false
    onRequest(req, res)
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolveListen, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new GameError('PORT_IN_USE', `WebHDFS gateway port ${host}:${options.port} is already in use`, {
              hint: 'Stop what uses it, or pick another port with --hdfs-port / GAME_HDFS_PORT.',
              cause: e,
              details: { host, port: options.port },
            })
          : e,
      )
    }
    server.once('error', onError)
    server.listen(options.port, host, () => {
      server.off('error', onError)
      resolveListen()
    })
  })
  server.on('error', (e) => log('error', `WebHDFS gateway error: ${e.message}`))
  const address = server.address() as AddressInfo
  log('info', `WebHDFS gateway on http://${address.address}:${address.port} serving ${root}`)

  return {
    host: address.address,
    port: address.port,
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
}
