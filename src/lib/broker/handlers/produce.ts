import { Writer } from '../../protocol/primitives.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

interface PartitionResult {
  index: number
  error: number
  baseOffset: bigint
  logStartOffset: bigint
  message: string | null
}

/** Produce (0) v3-8: RecordBatch v2 only, appended byte for byte; acks=0 answers nothing. */
export const produceHandler: ApiHandler = {
  key: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 8,
  async handle(ctx, r) {
    const v = ctx.apiVersion
    const transactionalId = r.nullableString()
    const acks = r.int16()
    r.int32() // timeout_ms: appends finish or fail on their own
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
    }))
    const { logs } = ctx.broker
    const results = await Promise.all(
      topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResult> => {
            const result: PartitionResult = {
              index: p.index,
              error: 0,
              baseOffset: -1n,
              logStartOffset: -1n,
              message: null,
            }
            const log = logs.partition(t.name, p.index)
            if (acks !== 0 && acks !== 1 && acks !== -1) result.error = ErrorCode.INVALID_REQUIRED_ACKS
            else if (transactionalId !== null) result.error = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            else if (!log) result.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else if (!p.records || p.records.length === 0) result.error = ErrorCode.CORRUPT_MESSAGE
            else {
              try {
                const appended = await log.append(p.records)
                result.baseOffset = appended.baseOffset
                result.logStartOffset = appended.logStartOffset
              } catch (error) {
                result.error = kafkaErrorCode(error)
                result.message = error instanceof Error ? error.message : String(error)
                if (result.error === ErrorCode.UNKNOWN_SERVER_ERROR) {
                  ctx.broker.log('error', `append to ${t.name}-${p.index} failed: ${result.message}`)
                }
              }
            }
            return result
          }),
        ),
      })),
    )
    if (acks === 0) return null
    const w = new Writer(64 + topics.length * 64)
    w.array(results, (w, t) => {
      w.string(t.name)
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.error).int64(p.baseOffset)
        if (v >= 2) w.int64(-1n)
        if (v >= 5) w.int64(p.logStartOffset)
        if (v >= 8) w.int32(0).nullableString(p.error ? p.message : null)
      })
    })
    w.int32(0)
    return w
  },
}
