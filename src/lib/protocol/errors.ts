import { ERROR_TABLE } from './generated/error-codes.js'

/**
 * Kafka's error codes (from Apache Kafka's Errors.java): one table with each code's name, whether
 * a client may retry it, and Kafka's description.
 */

export interface KafkaErrorInfo {
  code: number
  name: string
  retriable: boolean
  message: string
}

type ErrorName = (typeof ERROR_TABLE)[number]['name']

export const ErrorCode = Object.fromEntries(ERROR_TABLE.map((e) => [e.name, e.code])) as {
  readonly [K in ErrorName]: Extract<(typeof ERROR_TABLE)[number], { name: K }>['code']
}

const BY_CODE: ReadonlyMap<number, KafkaErrorInfo> = new Map(ERROR_TABLE.map((e) => [e.code, e]))

/** What Kafka says of a code; an unknown code gets a generic entry (never retriable). */
export function kafkaError(code: number): KafkaErrorInfo {
  return (
    BY_CODE.get(code) ?? {
      code,
      name: `UNKNOWN_ERROR_${code}`,
      retriable: false,
      message: `Kafka error code ${code}.`,
    }
  )
}

export function isRetriable(code: number): boolean {
  return BY_CODE.get(code)?.retriable ?? false
}
