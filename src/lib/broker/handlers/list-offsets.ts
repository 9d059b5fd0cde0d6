import { firstRecordAtOrAfter } from '../../protocol/records.js'
import type { Message } from '../../protocol/schema.js'
import type { PartitionLog } from '../log/types.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'

const LATEST = -1n
const EARLIEST = -2n
/** KIP-734 (v7+): the offset and timestamp of the record with the largest timestamp. */
const MAX_TIMESTAMP = -3n
/** KIP-405 (v8+) earliest-local and (v9+) latest-tiered: with no tiered storage, earliest and latest. */
const EARLIEST_LOCAL = -4n
const LATEST_TIERED = -5n

/** The record with the largest timestamp: scans the batches (per batch header, then inside that batch). */
async function maxTimestampOffset(log: PartitionLog): Promise<{ offset: bigint; timestamp: bigint }> {
  let best: { offset: bigint; timestamp: bigint } = { offset: -1n, timestamp: -1n }
  let at = log.logStartOffset()
  const end = log.highWatermark()
  while (at < end) {
    const { records } = await log.read(at, 1024 * 1024)
    if (records.length === 0) break
    let pos = 0
    let next = at
    while (pos + 61 <= records.length) {
      const size = 12 + records.readInt32BE(pos + 8)
      const base = records.readBigInt64BE(pos)
      const maxTs = records.readBigInt64BE(pos + 35)
      if (maxTs > best.timestamp) {
        const batch = records.subarray(pos, pos + size)
        const exact = firstRecordAtOrAfter(batch, maxTs)
        best = { offset: exact ? exact.offset : base, timestamp: maxTs }
      }
      next = base + BigInt(records.readInt32BE(pos + 23)) + 1n
      pos += size
    }
    if (next <= at) break
    at = next
  }
  return best
}

/**
 * ListOffsets (2) v0-9: latest (-1) = high watermark, earliest (-2) = log start, max timestamp (-3),
 * earliest-local (-4) and latest-tiered (-5) as earliest and latest (no tiered storage), else the
 * first record at or after the timestamp. v0 answers in its old shape (a list of offsets).
 */
export const listOffsetsHandler = codecHandler(2, async (ctx, req) => {
  const v = ctx.apiVersion
  const { logs } = ctx.broker
  const topics = await Promise.all(
    (req.topics as Message[]).map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(
        (t.partitions as Message[]).map(async (p) => {
          const log = logs.partition(t.name, p.partitionIndex)
          const ts = p.timestamp as bigint
          const out: Message = {
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            timestamp: -1n,
            offset: -1n,
            leaderEpoch: 0,
          }
          if (!log) out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          else if (ts === LATEST || (ts === LATEST_TIERED && v >= 9)) out.offset = log.highWatermark()
          else if (ts === EARLIEST || (ts === EARLIEST_LOCAL && v >= 8)) out.offset = log.logStartOffset()
          else if (ts === MAX_TIMESTAMP && v >= 7) {
            try {
              const best = await maxTimestampOffset(log)
              out.offset = best.offset
              out.timestamp = best.timestamp
            } catch (error) {
              out.errorCode = kafkaErrorCode(error)
            }
          } else if (ts < 0n) out.errorCode = ErrorCode.UNSUPPORTED_VERSION
          else {
            try {
              const found = await log.offsetForTimestamp(ts)
              if (found) {
                out.offset = found.offset
                out.timestamp = found.timestamp
                // The log answers per batch; Kafka answers per record. Refine inside the batch.
                const exact = await log.read(found.offset, 1).then(
                  ({ records }) => firstRecordAtOrAfter(records, ts),
                  () => undefined,
                )
                if (exact) {
                  out.offset = exact.offset
                  out.timestamp = exact.timestamp
                }
              }
            } catch (error) {
              out.errorCode = kafkaErrorCode(error)
            }
          }
          if (v === 0) out.oldStyleOffsets = out.offset === -1n ? [] : [out.offset]
          return out
        }),
      ),
    })),
  )
  return { throttleTimeMs: 0, topics }
})
