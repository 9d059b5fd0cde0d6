import { fileURLToPath } from 'node:url'
import { ExitCode, GameError } from '../errors.js'
import { FileLake } from './file-lake.js'
import { HdfsLake } from './hdfs-lake.js'
import type { Lake } from './types.js'

export { isLakeAlreadyExists, isLakeNotFound, normalizeLakePath } from './file-lake.js'

export interface OpenLakeOptions {
  /** WebHDFS user.name (GAME_HDFS_USER). */
  hdfsUser: string
  /** Rewrite the host[:port] of WebHDFS datanode redirects (GAME_DATANODE_HOST). */
  datanodeHost?: string
  /** Per-request timeout for WebHDFS calls, ms. */
  timeoutMs?: number
}

/** The WebHDFS namenode default HTTP port on Hadoop 3. */
export const DEFAULT_WEBHDFS_PORT = 9870

function badLakeUrl(url: string, why: string): GameError {
  return new GameError('CONFIG_INVALID', `Invalid lake URL ${JSON.stringify(url)}: ${why}`, {
    exitCode: ExitCode.config,
    hint: 'Set --lake / GAME_LAKE to hdfs://host:9870/path (WebHDFS) or file:///absolute/path.',
    details: { key: 'lake', value: url },
  })
}

/** Where a lake URL points; throws a config error (exit 3) for anything that is not a lake URL. */
export function parseLakeUrl(
  url: string,
): { kind: 'file'; root: string } | { kind: 'hdfs'; baseUrl: string; root: string } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw badLakeUrl(url, 'not a URL')
  }
  // WHATWG URL resolves '..' (and %2e%2e) silently: check the raw text so a typo never points elsewhere.
  let raw = url
  try {
    raw = decodeURIComponent(url)
  } catch {
    throw badLakeUrl(url, 'bad percent-encoding')
  }
  if (/(^|\/)\.\.(\/|$|\?|#)/.test(raw) || raw.includes('\0')) {
    throw badLakeUrl(url, "the path must not contain '..'")
  }
  if (u.search || u.hash) throw badLakeUrl(url, 'query strings and fragments are not allowed')
  if (u.protocol === 'file:') {
    if (u.host !== '' && u.host !== 'localhost')
      throw badLakeUrl(url, 'file: URLs take no host (file:///path)')
    return { kind: 'file', root: fileURLToPath(u) }
  }
  if (u.protocol === 'hdfs:' || u.protocol === 'webhdfs:') {
    if (!u.hostname) throw badLakeUrl(url, 'missing the namenode host (hdfs://host:9870/path)')
    if (u.username || u.password) throw badLakeUrl(url, 'credentials in the URL are not supported')
    const port = u.port || String(DEFAULT_WEBHDFS_PORT)
    const root = `/${decodeURIComponent(u.pathname)
      .split('/')
      .filter((s) => s !== '' && s !== '.')
      .join('/')}`
    return { kind: 'hdfs', baseUrl: `http://${u.hostname}:${port}`, root }
  }
  throw badLakeUrl(url, `unsupported scheme ${u.protocol} (use hdfs://, webhdfs:// or file://)`)
}

/** Opens the lake a URL names: hdfs:// and webhdfs:// over WebHDFS, file:// on the local disk. No I/O happens here. */
export function openLake(url: string, options: OpenLakeOptions): Lake {
  const target = parseLakeUrl(url)
  if (target.kind === 'file') return new FileLake(url)
  return new HdfsLake(url, {
    baseUrl: target.baseUrl,
    root: target.root,
    user: options.hdfsUser,
    datanodeHost: options.datanodeHost,
    timeoutMs: options.timeoutMs,
  })
}
