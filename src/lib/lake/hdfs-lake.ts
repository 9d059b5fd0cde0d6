import { GameError } from '../errors.js'
import { type HdfsFileStatus, WebHdfsClient, WebHdfsError } from '../hdfs/client.js'
import { lakeExistsError, lakeNotFoundError, normalizeLakePath } from './file-lake.js'
import type { Lake, LakeEntry } from './types.js'

export interface HdfsLakeOptions {
  /** http://host:port of the namenode. */
  baseUrl: string
  /** Absolute HDFS directory of the lake root, e.g. /tmp. */
  root: string
  user: string
  datanodeHost?: string
  timeoutMs?: number
  retries?: number
}

function isNotFound(error: unknown): boolean {
  return error instanceof WebHdfsError && error.exception === 'FileNotFoundException'
}

/** A lake over WebHDFS (hdfs://host:port/root): lake paths are relative to root. */
export class HdfsLake implements Lake {
  readonly kind = 'hdfs' as const
  readonly url: string
  readonly root: string
  readonly client: WebHdfsClient

  constructor(url: string, options: HdfsLakeOptions) {
    this.url = url
    const root = options.root.split('/').filter((s) => s !== '' && s !== '.')
    this.root = `/${root.join('/')}`
    this.client = new WebHdfsClient({
      baseUrl: options.baseUrl,
      user: options.user,
      datanodeHost: options.datanodeHost,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
    })
  }

  /** The absolute HDFS path of a lake path. */
  hdfsPath(p: string): string {
    const rel = normalizeLakePath(p)
    if (rel === '') return this.root
    return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`
  }

  localPath(p: string): undefined {
    normalizeLakePath(p)
    return undefined
  }

  async writeFile(p: string, data: Buffer | string, options: { overwrite?: boolean } = {}): Promise<void> {
    const rel = this.fileRel(p)
    await this.create(rel, data, options.overwrite ?? false)
  }

  async putFile(localPath: string, p: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const rel = this.fileRel(p)
    await this.create(rel, { file: localPath }, options.overwrite ?? false)
  }

  async readFile(p: string): Promise<Buffer> {
    const rel = normalizeLakePath(p)
    try {
      return await this.client.open(this.hdfsPath(rel))
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  async getFile(p: string, localPath: string): Promise<void> {
    const rel = normalizeLakePath(p)
    try {
      await this.client.openToFile(this.hdfsPath(rel), localPath)
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  async list(dir: string): Promise<LakeEntry[]> {
    const rel = normalizeLakePath(dir)
    let statuses: HdfsFileStatus[]
    try {
      statuses = await this.client.listStatusAll(this.hdfsPath(rel))
    } catch (error) {
      if (isNotFound(error)) return []
      throw error
    }
    return statuses
      .map((s) => {
        // LISTSTATUS of a file answers the file itself with pathSuffix "".
        if (s.pathSuffix === '') return this.entry(rel, s)
        return this.entry(rel === '' ? s.pathSuffix : `${rel}/${s.pathSuffix}`, s)
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async stat(p: string): Promise<LakeEntry | undefined> {
    const rel = normalizeLakePath(p)
    const st = await this.client.statOrUndefined(this.hdfsPath(rel))
    return st ? this.entry(rel, st) : undefined
  }

  async mkdirs(dir: string): Promise<void> {
    const rel = normalizeLakePath(dir)
    await this.client.mkdirs(this.hdfsPath(rel))
  }

  async rename(from: string, to: string): Promise<void> {
    const src = normalizeLakePath(from)
    const dst = normalizeLakePath(to)
    const fail = (why: string, cause?: unknown) =>
      new GameError('LAKE_RENAME_FAILED', `Cannot rename ${src} to ${dst} in the lake ${this.url}: ${why}`, {
        hint: 'Check that the source exists and the destination does not (lake renames never overwrite).',
        cause,
        details: { lake: this.url, from: src, to: dst },
      })
    if (src === '' || dst === '') throw fail('the lake root cannot be renamed')
    if (dst === src || dst.startsWith(`${src}/`)) throw fail('the destination is the source or inside it')
    // HDFS would move the source INTO an existing directory; a lake rename names the exact target.
    if (await this.stat(dst)) throw fail('the destination already exists')
    const parent = dst.includes('/') ? dst.slice(0, dst.lastIndexOf('/')) : ''
    await this.client.mkdirs(this.hdfsPath(parent))
    try {
      await this.client.rename(this.hdfsPath(src), this.hdfsPath(dst))
    } catch (error) {
      if (error instanceof GameError && error.code === 'WEBHDFS_RENAME_FAILED') {
        const exists = await this.stat(src).catch(() => undefined)
        throw fail(exists ? 'HDFS answered false' : 'the source does not exist', error)
      }
      throw error
    }
  }

  async delete(p: string, recursive = false): Promise<boolean> {
    const rel = normalizeLakePath(p)
    if (rel === '')
      throw new GameError('LAKE_DELETE_ROOT', `Refusing to delete the root of the lake ${this.url}`)
    try {
      return await this.client.delete(this.hdfsPath(rel), recursive)
    } catch (error) {
      if (error instanceof WebHdfsError && error.exception === 'PathIsNotEmptyDirectoryException') {
        throw new GameError('LAKE_DIR_NOT_EMPTY', `${rel} is a non-empty directory in the lake ${this.url}`, {
          hint: 'Pass recursive=true to delete a directory with its contents.',
          cause: error,
          details: { lake: this.url, path: rel },
        })
      }
      throw error
    }
  }

  private async create(
    rel: string,
    data: Buffer | string | { file: string },
    overwrite: boolean,
  ): Promise<void> {
    try {
      await this.client.create(this.hdfsPath(rel), data, { overwrite })
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  private fileRel(p: string): string {
    const rel = normalizeLakePath(p)
    if (rel === '') throw new GameError('LAKE_BAD_PATH', 'A lake file needs a name', { details: { path: p } })
    return rel
  }

  private entry(rel: string, s: HdfsFileStatus): LakeEntry {
    const isDir = s.type === 'DIRECTORY'
    return {
      name: rel.split('/').pop() ?? '',
      path: rel,
      type: isDir ? 'dir' : 'file',
      size: isDir ? 0 : s.length,
      mtime: s.modificationTime,
    }
  }

  private mapError(error: unknown, rel: string): unknown {
    if (error instanceof WebHdfsError) {
      if (error.exception === 'FileNotFoundException') return lakeNotFoundError(this.url, rel, error)
      if (error.exception === 'FileAlreadyExistsException') return lakeExistsError(this.url, rel, error)
    }
    return error
  }
}
