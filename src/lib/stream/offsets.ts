/**
 * Offset bookkeeping of the stream, per partition of one topic. Pure.
 *   committed: the next offset according to the lake's commit records (what is durably published)
 *   next:      the next offset to accept (committed + what is buffered or being flushed)
 * A message below `next` is a duplicate delivery (a consumer-group offset behind the lake, a fetch
 * that raced a seek) and is skipped, which is what makes resuming exactly-once.
 */
export class OffsetTracker {
  private readonly committed = new Map<number, bigint>()
  private readonly next = new Map<number, bigint>()
  private readonly high = new Map<number, bigint>()

  /** Sets what the lake says for a partition (on start and on each assignment). */
  setCommitted(partition: number, offset: bigint): void {
    this.committed.set(partition, offset)
    const n = this.next.get(partition)
    if (n === undefined || n < offset) this.next.set(partition, offset)
  }

  /** Forgets unpublished progress of a partition (revoked): the next owner starts from the lake. */
  reset(partition: number): void {
    const c = this.committed.get(partition)
    if (c === undefined) this.next.delete(partition)
    else this.next.set(partition, c)
  }

  /** Whether a message should be processed; advances `next` when it is. */
  accept(partition: number, offset: bigint): boolean {
    const n = this.next.get(partition)
    if (n !== undefined && offset < n) return false
    this.next.set(partition, offset + 1n)
    return true
  }

  /** The next offset to consume, if known. */
  nextOffset(partition: number): bigint | undefined {
    return this.next.get(partition)
  }

  committedOffset(partition: number): bigint | undefined {
    return this.committed.get(partition)
  }

  /** Partitions whose `next` is ahead of `committed`: what a flush would cover. */
  pending(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [p, n] of this.next) {
      const c = this.committed.get(p)
      if (c === undefined || n > c) out[String(p)] = n.toString()
    }
    return out
  }

  /** Marks offsets as published (after a commit record covering them). */
  markCommitted(offsets: Record<string, string>): void {
    for (const [p, o] of Object.entries(offsets)) {
      const partition = Number(p)
      const offset = BigInt(o)
      const c = this.committed.get(partition)
      if (c === undefined || offset > c) this.committed.set(partition, offset)
    }
  }

  /** Records a partition's high watermark (from a fetched batch or the admin). */
  setHighWatermark(partition: number, offset: bigint): void {
    this.high.set(partition, offset)
  }

  /** Lag per partition: high watermark − next. */
  lag(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [p, h] of this.high) {
      const n = this.next.get(p) ?? 0n
      out[String(p)] = Number(h > n ? h - n : 0n)
    }
    return out
  }

  /** Every known committed offset, as the record format writes them. */
  committedOffsets(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [p, c] of [...this.committed].sort((a, b) => a[0] - b[0])) out[String(p)] = c.toString()
    return out
  }
}

/** Whether every given partition has reached its target (the end offsets seen at start). */
export function caughtUp(
  partitions: number[],
  targets: Map<number, bigint>,
  nextOffset: (partition: number) => bigint | undefined,
  lowOffset: (partition: number) => bigint,
): boolean {
  for (const p of partitions) {
    const target = targets.get(p)
    if (target === undefined) continue
    const n = nextOffset(p) ?? lowOffset(p)
    if (n < target) return false
  }
  return true
}
