import { LogError } from '../log/types.js'

/** Kafka protocol error codes the broker returns (apache/kafka Errors.java). */
export const ErrorCode = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REQUEST: 42,
  INVALID_CONFIG: 40,
  KAFKA_STORAGE_ERROR: 56,
  GROUP_ID_NOT_FOUND: 69,
  NON_EMPTY_GROUP: 68,
  MEMBER_ID_REQUIRED: 79,
  INVALID_RECORD: 87,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
} as const

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
    }
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR
}
