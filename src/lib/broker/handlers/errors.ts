import { ErrorCode } from '../../protocol/errors.js'
import { LogError } from '../log/types.js'

export { ErrorCode } from '../../protocol/errors.js'

/** Maps an error thrown by the log (or anything else) to a Kafka error code. */
export function kafkaErrorCode(error: unknown): number {
  if (error instanceof LogError) {
    switch (error.code) {
      case 'CORRUPT_MESSAGE':
        return ErrorCode.CORRUPT_MESSAGE
      case 'OFFSET_OUT_OF_RANGE':
        return ErrorCode.OFFSET_OUT_OF_RANGE
      case 'UNKNOWN_TOPIC_OR_PARTITION':
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      case 'TOPIC_ALREADY_EXISTS':
        return ErrorCode.TOPIC_ALREADY_EXISTS
      case 'INVALID_TOPIC':
        return ErrorCode.INVALID_TOPIC_EXCEPTION
      case 'INVALID_PARTITIONS':
        return ErrorCode.INVALID_PARTITIONS
      case 'STORAGE_ERROR':
        return ErrorCode.KAFKA_STORAGE_ERROR
      case 'INVALID_CONFIG':
        return ErrorCode.INVALID_CONFIG
      case 'OUT_OF_ORDER_SEQUENCE_NUMBER':
        return ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
      case 'INVALID_PRODUCER_EPOCH':
        return ErrorCode.INVALID_PRODUCER_EPOCH
    }
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR
}
