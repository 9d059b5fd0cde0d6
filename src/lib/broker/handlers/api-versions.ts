import { Writer } from '../../protocol/primitives.js'
import { ErrorCode } from './errors.js'
import type { ApiHandler } from './types.js'

export interface ApiRange {
  key: number
  minVersion: number
  maxVersion: number
}

/** ApiVersions (18) v0-2 body: error, the supported ranges, throttle (v1+). */
export function encodeApiVersions(version: number, errorCode: number, ranges: readonly ApiRange[]): Writer {
  const w = new Writer(16 + ranges.length * 6)
  w.int16(errorCode)
  w.array(ranges, (w, r) => w.int16(r.key).int16(r.minVersion).int16(r.maxVersion))
  if (version >= 1) w.int32(0)
  return w
}

/**
 * KIP-511: an ApiVersions request above the supported version gets a v0 body with
 * UNSUPPORTED_VERSION and the list, so the client can retry with a version we speak.
 */
export function unsupportedApiVersionsResponse(ranges: readonly ApiRange[]): Writer {
  return encodeApiVersions(0, ErrorCode.UNSUPPORTED_VERSION, ranges)
}

export function apiVersionsHandler(ranges: () => readonly ApiRange[]): ApiHandler {
  return {
    key: 18,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 2,
    handle: (ctx) => encodeApiVersions(ctx.apiVersion, ErrorCode.NONE, ranges()),
  }
}
