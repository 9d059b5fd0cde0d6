import type { Message } from '../../protocol/schema.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode, kafkaErrorCode } from './errors.js'

/**
 * Produce (0) v0-11, as Apache Kafka 3.9 advertises them. RecordBatch v2 only, appended byte for byte;
 * acks=0 answers nothing. v0-2 carry the old message formats (v0/v1), which this broker does not
 * store: each partition gets UNSUPPORTED_VERSION (Kafka 3.9 would convert them). Advertising them
 * anyway matters: librdkafka enables compression only when the broker's Produce range starts low
 * enough (docs/broker.md).
 */
export const produceHandler = codecHandler(0, async (ctx, req) => {
  const v = ctx.apiVersion
  const { logs } = ctx.broker
  const acks = req.acks as number
  const responses = await Promise.all(
    (req.topicData as Message[]).map(async (t) => ({
      name: t.name,
      partitionResponses: await Promise.all(
        (t.partitionData as Message[]).map(async (p) => {
          const out: Message = {
            index: p.index,
            errorCode: 0,
            baseOffset: -1n,
            logStartOffset: -1n,
            errorMessage: null,
          }
          const log = logs.partition(t.name, p.index)
          const records = p.records as Buffer | null
          if (v < 3) {
            out.errorCode = ErrorCode.UNSUPPORTED_VERSION
            out.errorMessage = 'Produce v0-2 (message format v0/v1) is not supported; use v3 or later'
          } else if (acks !== 0 && acks !== 1 && acks !== -1) out.errorCode = ErrorCode.INVALID_REQUIRED_ACKS
          else if (req.transactionalId !== null) {
            out.errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            out.errorMessage = 'The embedded broker does not support transactions.'
          } else if (!log) out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          else if (!records || records.length === 0) out.errorCode = ErrorCode.CORRUPT_MESSAGE
          else {
            try {
              const appended = await log.append(records)
              out.baseOffset = appended.baseOffset
              out.logStartOffset = appended.logStartOffset
            } catch (error) {
              out.errorCode = kafkaErrorCode(error)
              out.errorMessage = error instanceof Error ? error.message : String(error)
              if (out.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
                ctx.broker.log('error', `append to ${t.name}-${p.index} failed: ${out.errorMessage}`)
              }
            }
          }
          if (out.errorCode === 0) out.errorMessage = null
          return out
        }),
      ),
    })),
  )
  if (acks === 0) return null
  return { responses, throttleTimeMs: 0 }
})
