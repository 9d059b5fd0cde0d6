import { apiSpec } from '../../protocol/apis.js'
import type { Writer } from '../../protocol/primitives.js'
import { encodeMessage } from '../../protocol/schema.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

export interface ApiRange {
  key: number
  minVersion: number
  maxVersion: number
}

const API_VERSIONS = 18

/** The ApiVersions response body at `version` (v0-4): error, the supported ranges, throttle (v1+). */
export function encodeApiVersions(version: number, errorCode: number, ranges: readonly ApiRange[]): Writer {
  return encodeMessage(apiSpec(API_VERSIONS).response, version, {
    errorCode,
    apiKeys: ranges.map((r) => ({ apiKey: r.key, minVersion: r.minVersion, maxVersion: r.maxVersion })),
    throttleTimeMs: 0,
  })
}

/**
 * KIP-511: an ApiVersions request above the supported version gets a v0 body with
 * UNSUPPORTED_VERSION and the list, so the client can retry with a version we speak.
 */
export function unsupportedApiVersionsResponse(ranges: readonly ApiRange[]): Writer {
  return encodeApiVersions(0, ErrorCode.UNSUPPORTED_VERSION, ranges)
}

/**
 * ApiVersions (18) v0-4. v3+ requests carry the client's software name and version (logged at
 * debug, and checked as Kafka does: an invalid name or version gets INVALID_REQUEST).
 */
export function apiVersionsHandler(ranges: () => readonly ApiRange[]): ApiHandler {
  return codecHandler(API_VERSIONS, (ctx, req) => {
    const v = ctx.apiVersion
    let errorCode: number = ErrorCode.NONE
    if (v >= 3) {
      if (ctx.broker.debug) {
        ctx.broker.log('debug', `client software ${req.clientSoftwareName} ${req.clientSoftwareVersion}`, {
          clientHost: ctx.clientHost,
        })
      }
      const valid = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/
      if (!valid.test(req.clientSoftwareName) || !valid.test(req.clientSoftwareVersion))
        errorCode = ErrorCode.INVALID_REQUEST
    }
    return {
      errorCode,
      apiKeys: ranges().map((r) => ({ apiKey: r.key, minVersion: r.minVersion, maxVersion: r.maxVersion })),
      throttleTimeMs: 0,
    }
  })
}
