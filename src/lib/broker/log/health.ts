/**
 * The log's storage health: which of its writers (partitions, the group offsets log, topics.json)
 * failed their last write, since when, and how many writes were refused meanwhile. A storage
 * episode starts with the first failure while all was well and ends when no writer is failing any
 * more and none failed for `settleMs` after that (on a nearly full disk small writes succeed
 * between large ones that fail: that is one episode, not many); the listener hears one 'failed'
 * and one 'recovered' event per episode, never one per request.
 */

export interface StorageHealth {
  ok: boolean
  /** Start of the current episode (ms since the epoch), when not ok. */
  since?: number
  /** The first error of the episode, e.g. "append to game_events-0 failed: ENOSPC: no space left ...". */
  error?: string
  /** Writers failing now: partition names, "__groups", "topics.json". */
  failing: string[]
  /** Writes refused in this episode (appends answered KAFKA_STORAGE_ERROR, commits refused). */
  refused: number
}

export type StorageEvent =
  | { kind: 'failed'; error: string; where: string }
  | { kind: 'recovered'; downMs: number; refused: number }

export class StorageHealthTracker {
  private readonly failing = new Map<string, string>()
  /** Failing writers whose failure ends with any successful write (see failed()). */
  private readonly transient = new Set<string>()
  private since = 0
  private firstError = ''
  private refusedCount = 0
  /** Set while the episode is settling: no writer fails, the 'recovered' event is due then. */
  private settling: { timer: NodeJS.Timeout | null; clearedAt: number } | null = null

  constructor(
    private readonly onEvent: (event: StorageEvent) => void = () => {},
    private readonly now: () => number = Date.now,
    /** How long writes must keep working before the episode ends (ms; 0 = at once). */
    private readonly settleMs = 0,
  ) {}

  /**
   * `where` failed a write with `error`. A `transient` failure ends with the next successful write
   * anywhere: a full disk (ENOSPC, EDQUOT) belongs to the file system, not to the writer, so a
   * partition that hit it and has not been produced to since is not failing once others write
   * again; and a topics.json write whose change was undone leaves nothing to retry. Any other
   * error (EIO ...) ends only with that writer's own next successful write.
   */
  failed(where: string, error: string, transient = false): void {
    if (transient) this.transient.add(where)
    if (this.settling) {
      // Failing again before the episode settled: the same episode goes on, nothing is told.
      if (this.settling.timer) clearTimeout(this.settling.timer)
      this.settling = null
      this.failing.set(where, error)
      return
    }
    if (this.failing.size === 0) {
      this.since = this.now()
      this.firstError = error
      this.refusedCount = 0
      this.failing.set(where, error)
      this.onEvent({ kind: 'failed', error, where })
      return
    }
    this.failing.set(where, error)
  }

  /** `where` wrote successfully (cheap when nothing is failing: call it after every write). */
  wrote(where: string): void {
    if (this.failing.size === 0) return
    let changed = this.failing.delete(where)
    for (const t of this.transient) changed = this.failing.delete(t) || changed
    this.transient.clear()
    if (!changed || this.failing.size > 0) return
    const clearedAt = this.now()
    if (this.settleMs <= 0) {
      this.end(clearedAt)
      return
    }
    const timer = setTimeout(() => this.end(clearedAt), this.settleMs)
    timer.unref()
    this.settling = { timer, clearedAt }
  }

  /** Ends a settling episode now (at close: the log gets its last line). */
  close(): void {
    if (!this.settling) return
    if (this.settling.timer) clearTimeout(this.settling.timer)
    this.end(this.settling.clearedAt)
  }

  private end(clearedAt: number): void {
    this.settling = null
    this.onEvent({ kind: 'recovered', downMs: clearedAt - this.since, refused: this.refusedCount })
  }

  /** A write was refused (counted in the episode). */
  refused(n = 1): void {
    if (this.failing.size > 0 || this.settling) this.refusedCount += n
  }

  report(): StorageHealth {
    if (this.failing.size === 0) return { ok: true, failing: [], refused: 0 }
    return {
      ok: false,
      since: this.since,
      error: this.firstError,
      failing: [...this.failing.keys()].sort(),
      refused: this.refusedCount,
    }
  }
}

/** True for the errors of a full file system (ENOSPC, EDQUOT), on `error` or its cause. */
export function isNoSpace(error: unknown): boolean {
  const codes = [
    (error as NodeJS.ErrnoException)?.code,
    ((error as Error)?.cause as NodeJS.ErrnoException)?.code,
  ]
  return codes.some((c) => c === 'ENOSPC' || c === 'EDQUOT')
}
