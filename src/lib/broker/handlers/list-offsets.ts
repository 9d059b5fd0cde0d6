import { Writer } from '../../protocol/primitives.js'
import { firstRecordAtOrAfter } from '../../protocol/records.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

const LATEST = -1n
const EARLIEST = -2n

/** ListOffsets (2) v1-5: latest (-1) = high watermark, earliest (-2) = log start, else by timestamp. */
export const listOffsetsHandler: ApiHandler = {
  key: 2,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 5,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    r.int32() // replica_id
    if (v >= 2) r.int8() // isolation_level
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const index = r.int32()
        if (v >= 4) r.int32() // current_leader_epoch
        return { index, timestamp: r.int64() }
      }),
    }))
    const { logs } = ctx.broker
    const results = await Promise.all(
      topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const log = logs.partition(t.name, p.index)
            const out = { index: p.index, error: 0, timestamp: -1n, offset: -1n }
            if (!log) out.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else if (p.timestamp === LATEST) out.offset = log.highWatermark()
            else if (p.timestamp === EARLIEST) out.offset = log.logStartOffset()
            else if (p.timestamp < 0n) out.error = ErrorCode.UNSUPPORTED_VERSION
            else {
              try {
                const found = await log.offsetForTimestamp(p.timestamp)
                if (found) {
                  out.offset = found.offset
                  out.timestamp = found.timestamp
                  // The log answers per batch; Kafka answers per record. Refine inside the batch.
                  const exact = await log.read(found.offset, 1).then(
                    ({ records }) => firstRecordAtOrAfter(records, p.timestamp),
                    () => undefined,
                  )
                  if (exact) {
                    out.offset = exact.offset
                    out.timestamp = exact.timestamp
                  }
                }
              } catch (error) {
                out.error = kafkaErrorCode(error)
              }
            }
            return out
          }),
        ),
      })),
    )
    const w = new Writer(64 + topics.length * 64)
    if (v >= 2) w.int32(0)
    w.array(results, (w, t) => {
      w.string(t.name)
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.error).int64(p.timestamp).int64(p.offset)
        if (v >= 4) w.int32(0)
      })
    })
    return w
  },
}
