import { BATCH_LOG_OVERHEAD, type BatchSpan, batchProblem } from '../../protocol/batch.js'
import { recordsProblem } from '../../protocol/records.js'
import { LogError } from './types.js'

/**
 * Splits a produce payload (one or more concatenated batches) into spans, validating each batch
 * whole (length fits, magic 2, count, CRC). Throws LogError('CORRUPT_MESSAGE') on the first problem;
 * an empty payload is corrupt too.
 */
export function splitBatches(payload: Buffer): BatchSpan[] {
  if (payload.length === 0) throw new LogError('CORRUPT_MESSAGE', 'empty record set')
  const spans: BatchSpan[] = []
  let pos = 0
  while (pos < payload.length) {
    const problem = batchProblem(payload, pos, payload.length)
    if (problem !== null) throw new LogError('CORRUPT_MESSAGE', `batch at byte ${pos}: ${problem}`)
    const size = BATCH_LOG_OVERHEAD + payload.readInt32BE(pos + 8)
    // Uncompressed records are parsed too, as Kafka's LogValidator does: a valid CRC over garbage
    // records would otherwise be stored and break every consumer.
    if ((payload.readInt16BE(pos + 21) & 0x07) === 0) {
      const bad = recordsProblem(payload, pos, pos + size, payload.readInt32BE(pos + 57))
      if (bad !== null) throw new LogError('CORRUPT_MESSAGE', `batch at byte ${pos}: ${bad}`)
    }
    spans.push({
      position: pos,
      size,
      lastOffsetDelta: payload.readInt32BE(pos + 23),
      maxTimestamp: payload.readBigInt64BE(pos + 35),
    })
    pos += size
  }
  return spans
}

/**
 * Rewrites the baseOffsets of already-split batches in place, consecutively from `baseOffset`.
 * Returns the next offset after the last record.
 */
export function assignOffsets(payload: Buffer, spans: BatchSpan[], baseOffset: bigint): bigint {
  let next = baseOffset
  for (const s of spans) {
    payload.writeBigInt64BE(next, s.position)
    next += BigInt(s.lastOffsetDelta) + 1n
  }
  return next
}
