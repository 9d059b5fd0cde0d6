import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { ExitCode, GameError } from '../errors.js'
import type { Lake, LakeEntry } from './types.js'

/**
 * Checks and normalises a lake path (relative to the lake root, '/'-separated). Leading slashes,
 * empty and '.' segments are dropped; '..', NUL and backslashes are refused. '' is the root.
 */
export function normalizeLakePath(p: string): string {
  if (typeof p !== 'string') throw lakePathError(String(p), 'not a string')
  if (p.includes('\0')) throw lakePathError(p, 'contains NUL')
  if (p.includes('\\')) throw lakePathError(p, "contains '\\' (lake paths use '/')")
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  if (parts.includes('..')) throw lakePathError(p, "contains '..'")
  return parts.join('/')
}

function lakePathError(p: string, why: string): GameError {
  return new GameError('LAKE_BAD_PATH', `Invalid lake path ${JSON.stringify(p)}: ${why}`, {
    exitCode: ExitCode.usage,
    hint: "Lake paths are relative to the lake root, '/'-separated, without '..'.",
    details: { path: p },
  })
}

export function lakeNotFoundError(url: string, p: string, cause?: unknown): GameError {
  return new GameError('LAKE_NOT_FOUND', `${p || '/'} does not exist in the lake ${url}`, {
    hint: 'List the lake directory to see what is there; the stream writes tables after its first flush.',
    cause,
    details: { lake: url, path: p },
  })
}

export function lakeExistsError(url: string, p: string, cause?: unknown): GameError {
  return new GameError('LAKE_ALREADY_EXISTS', `${p || '/'} already exists in the lake ${url}`, {
    hint: 'Pass { overwrite: true } to replace a file, or choose another name.',
    cause,
    details: { lake: url, path: p },
  })
}

/** True for "no such file" from either adapter (file: or hdfs:). */
export function isLakeNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return code === 'LAKE_NOT_FOUND' || code === 'WEBHDFS_FILENOTFOUNDEXCEPTION'
}

/** True for "already exists" from either adapter (file: or hdfs:). */
export function isLakeAlreadyExists(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return code === 'LAKE_ALREADY_EXISTS' || code === 'WEBHDFS_FILEALREADYEXISTSEXCEPTION'
}

/** Temp files of in-flight writes: hidden from list() and never at a final name. */
const TEMP_PREFIX = '.game-tmp-'

function tempName(): string {
  return `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code
}

/** A lake on the local file system (file:///root). Writes are temp file + rename, so readers never see half a file. */
export class FileLake implements Lake {
  readonly kind = 'file' as const
  readonly url: string
  /** Absolute local directory of the lake root. */
  readonly root: string

  constructor(url: string) {
    this.url = url
    this.root = path.resolve(fileURLToPath(url))
  }

  localPath(p: string): string {
    const rel = normalizeLakePath(p)
    return rel === '' ? this.root : path.join(this.root, ...rel.split('/'))
  }

  async writeFile(p: string, data: Buffer | string, options: { overwrite?: boolean } = {}): Promise<void> {
    const rel = this.fileRel(p)
    await this.publish(rel, options.overwrite ?? false, (tmp) => fs.writeFile(tmp, data, { flag: 'wx' }))
  }

  async putFile(localPath: string, p: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const rel = this.fileRel(p)
    try {
      await fs.access(localPath)
    } catch (error) {
      throw new GameError(
        'LOCAL_FILE_UNREADABLE',
        `Cannot read local file ${localPath}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    await this.publish(rel, options.overwrite ?? false, (tmp) =>
      pipeline(createReadStream(localPath), createWriteStream(tmp, { flags: 'wx' })),
    )
  }

  async readFile(p: string): Promise<Buffer> {
    const rel = normalizeLakePath(p)
    try {
      return await fs.readFile(this.localPath(rel))
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  async getFile(p: string, localPath: string): Promise<void> {
    const rel = normalizeLakePath(p)
    const src = this.localPath(rel)
    try {
      const st = await fs.stat(src)
      if (!st.isFile()) throw lakeNotFoundError(this.url, rel)
      await fs.mkdir(path.dirname(path.resolve(localPath)), { recursive: true })
      await fs.copyFile(src, localPath)
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  async list(dir: string): Promise<LakeEntry[]> {
    const rel = normalizeLakePath(dir)
    const abs = this.localPath(rel)
    let names: string[]
    try {
      names = await fs.readdir(abs)
    } catch (error) {
      if (errno(error) === 'ENOENT') return []
      if (errno(error) === 'ENOTDIR') {
        const self = await this.stat(rel)
        return self ? [self] : []
      }
      throw this.mapError(error, rel)
    }
    const entries: LakeEntry[] = []
    for (const name of names.sort()) {
      if (name.startsWith(TEMP_PREFIX)) continue
      const entry = await this.stat(rel === '' ? name : `${rel}/${name}`)
      if (entry) entries.push(entry)
    }
    return entries
  }

  async stat(p: string): Promise<LakeEntry | undefined> {
    const rel = normalizeLakePath(p)
    try {
      const st = await fs.stat(this.localPath(rel))
      const isDir = st.isDirectory()
      return {
        name: rel.split('/').pop() ?? '',
        path: rel,
        type: isDir ? 'dir' : 'file',
        size: isDir ? 0 : st.size,
        mtime: Math.floor(st.mtimeMs),
      }
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return undefined
      throw this.mapError(error, rel)
    }
  }

  async mkdirs(dir: string): Promise<void> {
    const rel = normalizeLakePath(dir)
    try {
      await fs.mkdir(this.localPath(rel), { recursive: true })
    } catch (error) {
      throw this.mapError(error, rel)
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const src = normalizeLakePath(from)
    const dst = normalizeLakePath(to)
    if (src === '' || dst === '') throw this.renameError(src, dst, 'the lake root cannot be renamed')
    if (dst === src || dst.startsWith(`${src}/`))
      throw this.renameError(src, dst, 'the destination is the source or inside it')
    if (!(await this.stat(src))) throw this.renameError(src, dst, 'the source does not exist')
    if (await this.stat(dst)) throw this.renameError(src, dst, 'the destination already exists')
    const parent = dst.includes('/') ? dst.slice(0, dst.lastIndexOf('/')) : ''
    await this.mkdirs(parent)
    try {
      await fs.rename(this.localPath(src), this.localPath(dst))
    } catch (error) {
      throw this.renameError(src, dst, (error as Error).message, error)
    }
  }

  async delete(p: string, recursive = false): Promise<boolean> {
    const rel = normalizeLakePath(p)
    if (rel === '')
      throw new GameError('LAKE_DELETE_ROOT', `Refusing to delete the root of the lake ${this.url}`)
    const abs = this.localPath(rel)
    let st: Awaited<ReturnType<typeof fs.lstat>>
    try {
      st = await fs.lstat(abs)
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return false
      throw this.mapError(error, rel)
    }
    try {
      if (st.isDirectory()) {
        if (recursive) await fs.rm(abs, { recursive: true, force: true })
        else await fs.rmdir(abs)
      } else {
        await fs.unlink(abs)
      }
      return true
    } catch (error) {
      if (errno(error) === 'ENOENT') return false
      if (errno(error) === 'ENOTEMPTY' || errno(error) === 'EEXIST') {
        throw new GameError('LAKE_DIR_NOT_EMPTY', `${rel} is a non-empty directory in the lake ${this.url}`, {
          hint: 'Pass recursive=true to delete a directory with its contents.',
          cause: error,
          details: { lake: this.url, path: rel },
        })
      }
      throw this.mapError(error, rel)
    }
  }

  private fileRel(p: string): string {
    const rel = normalizeLakePath(p)
    if (rel === '') throw lakePathError(p, 'a file needs a name')
    return rel
  }

  /** Writes into a temp file next to the target, then publishes it atomically (link for no-clobber, rename for overwrite). */
  private async publish(
    rel: string,
    overwrite: boolean,
    write: (tmp: string) => Promise<unknown>,
  ): Promise<void> {
    const target = this.localPath(rel)
    const dir = path.dirname(target)
    try {
      await fs.mkdir(dir, { recursive: true })
    } catch (error) {
      throw this.mapError(error, rel)
    }
    if (!overwrite && (await this.stat(rel))) throw lakeExistsError(this.url, rel)
    const tmp = path.join(dir, tempName())
    try {
      await write(tmp)
      if (overwrite) {
        const st = await this.stat(rel)
        if (st?.type === 'dir') throw lakeExistsError(this.url, rel)
        await fs.rename(tmp, target)
      } else {
        // link() fails with EEXIST instead of replacing: the no-clobber publish is atomic.
        await fs.link(tmp, target)
        await fs.unlink(tmp)
      }
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => {})
      if (errno(error) === 'EEXIST') throw lakeExistsError(this.url, rel, error)
      throw this.mapError(error, rel)
    }
  }

  private renameError(from: string, to: string, why: string, cause?: unknown): GameError {
    return new GameError(
      'LAKE_RENAME_FAILED',
      `Cannot rename ${from} to ${to} in the lake ${this.url}: ${why}`,
      {
        hint: 'Check that the source exists and the destination does not (lake renames never overwrite).',
        cause,
        details: { lake: this.url, from, to },
      },
    )
  }

  private mapError(error: unknown, rel: string): GameError {
    if (error instanceof GameError) return error
    const code = errno(error)
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
      return lakeNotFoundError(this.url, rel, error)
    if (code === 'EACCES' || code === 'EPERM') {
      return new GameError(
        'LAKE_ACCESS_DENIED',
        `Permission denied on ${rel || '/'} in the lake ${this.url}`,
        {
          exitCode: ExitCode.config,
          hint: `Check the permissions of ${this.root}, or set GAME_LAKE to a directory you can write.`,
          cause: error,
        },
      )
    }
    return new GameError(
      'LAKE_IO',
      `Lake I/O error on ${rel || '/'} (${this.url}): ${(error as Error).message}`,
      {
        cause: error,
        details: { lake: this.url, path: rel, errno: code },
      },
    )
  }
}
