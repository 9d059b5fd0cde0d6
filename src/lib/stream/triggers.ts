/** When a micro-batch is flushed: at --max-rows, at --max-bytes, or --interval after the last flush. Pure. */
export interface FlushLimits {
  intervalMs: number
  maxRows: number
  maxBytes: number
}

export interface BufferState {
  rows: number
  bytes: number
  /** Pending offsets even without rows (e.g. only `default` events) still need a commit. */
  pendingOffsets: boolean
  lastFlushAt: number
}

export type FlushReason = 'max-rows' | 'max-bytes' | 'interval' | 'final'

export function flushReason(state: BufferState, limits: FlushLimits, now: number): FlushReason | undefined {
  if (state.rows >= limits.maxRows) return 'max-rows'
  if (state.bytes >= limits.maxBytes) return 'max-bytes'
  if ((state.rows > 0 || state.pendingOffsets) && now - state.lastFlushAt >= limits.intervalMs)
    return 'interval'
  return undefined
}
