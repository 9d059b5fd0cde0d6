/**
 * The lake: a directory tree reached through WebHDFS (hdfs://host:port/root) or the local file
 * system (file:///root). Paths given to a Lake are relative to its root, '/'-separated, never
 * starting with '/' and never containing '..'.
 */
export interface LakeEntry {
  /** Last path component. */
  name: string
  /** Path relative to the lake root. */
  path: string
  type: 'file' | 'dir'
  size: number
  /** Modification time, ms since epoch. */
  mtime: number
}

export interface Lake {
  /** The lake URL as configured, e.g. hdfs://127.0.0.1:9870/tmp. */
  readonly url: string
  readonly kind: 'hdfs' | 'file'
  /** Writes a whole file (creating parent directories). Fails if it exists unless overwrite. */
  writeFile(path: string, data: Buffer | string, options?: { overwrite?: boolean }): Promise<void>
  /** Uploads a local file (streamed, not buffered whole). */
  putFile(localPath: string, path: string, options?: { overwrite?: boolean }): Promise<void>
  readFile(path: string): Promise<Buffer>
  /** Downloads a file to a local path (streamed). */
  getFile(path: string, localPath: string): Promise<void>
  /** Directory entries; [] when the directory does not exist. */
  list(dir: string): Promise<LakeEntry[]>
  stat(path: string): Promise<LakeEntry | undefined>
  mkdirs(dir: string): Promise<void>
  /** Atomic rename; creates the destination's parent directory; throws if it fails (never returns false). */
  rename(from: string, to: string): Promise<void>
  /** Returns false when nothing was there. */
  delete(path: string, recursive?: boolean): Promise<boolean>
  /** For file: lakes, the absolute local path (DuckDB reads in place); undefined for hdfs:. */
  localPath(path: string): string | undefined
}
