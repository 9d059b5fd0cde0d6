import type { Lake } from './types.js'
import { compactLake, expireLake, type PartitionFiles, UPKEEP_DEFAULTS } from './upkeep.js'

/**
 * The lake's upkeep inside `game stream`: one `maybeCompact()` call after each flush starts, at
 * most every checkEveryMs and never two at once, a background run of the same code as
 * `game lake compact` (closed partitions, or partitions past maxFiles) and, with a retention, of
 * `game lake expire`. Errors become warnings; the stream never waits for it except at close().
 */
export interface CompactorOptions {
  /** Compact (default true; --no-compact turns it off). */
  compact?: boolean
  /** Expire dt partitions older than this (ms); undefined: keep forever. */
  retentionMs?: number
  targetSizeBytes?: number
  graceMs?: number
  /** A partition is compacted once this long after its day ended (default 1 day)... */
  closedAfterMs?: number
  /** ...or as soon as it holds this many files (default 100). */
  maxFiles?: number
  /** Between two background runs (default 5 minutes; the first run waits this long after start too). */
  checkEveryMs?: number
  tempDir?: string
  onWarning?: (message: string) => void
  /** A line per committed compaction or expiry. */
  onEvent?: (message: string) => void
  now?: () => number
}

export const COMPACTOR_DEFAULTS = {
  closedAfterMs: 86_400_000,
  maxFiles: 100,
  checkEveryMs: 5 * 60_000,
} as const

/** Pure: the stream's rule, a partition is due once closed for closedAfterMs or past maxFiles. */
export function partitionDue(
  p: Pick<PartitionFiles, 'dt' | 'files'>,
  now: number,
  closedAfterMs: number,
  maxFiles: number,
): boolean {
  const dayEnd = Date.parse(`${p.dt}T00:00:00Z`) + 86_400_000
  return p.files.length >= maxFiles || now >= dayEnd + closedAfterMs
}

export class Compactor {
  private running: Promise<void> | undefined
  private readonly abort = new AbortController()
  private last: number
  private readonly now: () => number

  constructor(
    private readonly lake: Lake,
    private readonly options: CompactorOptions = {},
  ) {
    this.now = options.now ?? Date.now
    this.last = this.now()
  }

  /** Starts a background run when one is due and none is running; returns at once. */
  maybeCompact(): void {
    const o = this.options
    if (this.running || this.abort.signal.aborted) return
    if (o.compact === false && o.retentionMs === undefined) return
    if (this.now() - this.last < (o.checkEveryMs ?? COMPACTOR_DEFAULTS.checkEveryMs)) return
    this.last = this.now()
    this.running = this.run()
      .catch((error) => {
        if (!this.abort.signal.aborted)
          o.onWarning?.(`Lake upkeep failed (retried later): ${(error as Error).message}`)
      })
      .finally(() => {
        this.running = undefined
      })
  }

  /** Waits for a running pass to finish (tests, `--once`). */
  async idle(): Promise<void> {
    await this.running
  }

  /** Waits for a running pass (stopping it between partitions). */
  async close(): Promise<void> {
    this.abort.abort()
    await this.running
  }

  private async run(): Promise<void> {
    const o = this.options
    const now = this.now()
    if (o.retentionMs !== undefined) {
      const r = await expireLake(this.lake, { olderThanMs: o.retentionMs, graceMs: o.graceMs, now })
      if (r.commitId)
        o.onEvent?.(
          `expired ${r.totals.partitions} partition(s) before ${r.horizon} (${r.totals.files} files)`,
        )
    }
    if (o.compact === false) return
    const closedAfterMs = o.closedAfterMs ?? COMPACTOR_DEFAULTS.closedAfterMs
    const maxFiles = o.maxFiles ?? COMPACTOR_DEFAULTS.maxFiles
    const r = await compactLake(this.lake, {
      minFiles: 2,
      targetSizeBytes: o.targetSizeBytes ?? UPKEEP_DEFAULTS.targetSizeBytes,
      graceMs: o.graceMs,
      tempDir: o.tempDir,
      signal: this.abort.signal,
      accept: (p) => partitionDue(p, now, closedAfterMs, maxFiles),
    })
    for (const p of r.partitions)
      if (p.commitId) o.onEvent?.(`compacted ${p.table}/dt=${p.dt}: ${p.filesBefore} → ${p.filesAfter} files`)
  }
}
