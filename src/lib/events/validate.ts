import type { EventTypeSpec, ParamSpec } from './catalog.js'

export type ParamValue = string | number | undefined

export interface ParamError {
  field: string
  rule: string
  /** A stable reason code for metrics: missing, not_integer, not_positive, too_large, too_long, invalid_utf8. */
  reason: string
}

export type ParamsResult = { ok: true; params: Record<string, ParamValue> } | { ok: false; error: ParamError }

const INTEGER = /^[+]?\d{1,16}$/

/** Validates raw request input (strings from a query or body) against a type's parameters. Pure. */
export function validateParams(spec: EventTypeSpec, input: Record<string, unknown>): ParamsResult {
  const params: Record<string, ParamValue> = {}
  for (const p of spec.params) {
    const raw = input[p.name]
    const result = validateParam(p, raw)
    if ('error' in result) return { ok: false, error: result.error }
    params[p.name] = result.value
  }
  return { ok: true, params }
}

function validateParam(p: ParamSpec, raw: unknown): { value: ParamValue } | { error: ParamError } {
  if (Array.isArray(raw)) raw = raw[0]
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    if (p.required) {
      return {
        error: { field: p.name, rule: `${p.name} is required and must not be empty`, reason: 'missing' },
      }
    }
    return { value: p.default }
  }
  if (typeof raw === 'number' && p.type === 'int') raw = String(raw)
  if (typeof raw !== 'string') {
    return {
      error: {
        field: p.name,
        rule: `${p.name} must be a ${p.type === 'int' ? 'number' : 'string'}`,
        reason: 'wrong_type',
      },
    }
  }
  if (raw.includes('\uFFFD')) {
    return { error: { field: p.name, rule: `${p.name} is not valid UTF-8`, reason: 'invalid_utf8' } }
  }
  if (p.type === 'int') {
    const s = raw.trim()
    if (!INTEGER.test(s)) {
      // "-5" fails the same rule as "0" when the field must be positive: name that rule, not "whole".
      if (p.positive && /^-\d+$/.test(s))
        return { error: { field: p.name, rule: `${p.name} must be greater than 0`, reason: 'not_positive' } }
      return { error: { field: p.name, rule: `${p.name} must be a whole number`, reason: 'not_integer' } }
    }
    const n = Number(s)
    if (p.positive && n <= 0) {
      return { error: { field: p.name, rule: `${p.name} must be greater than 0`, reason: 'not_positive' } }
    }
    if (p.max !== undefined && n > p.max) {
      return { error: { field: p.name, rule: `${p.name} must be at most ${p.max}`, reason: 'too_large' } }
    }
    return { value: n }
  }
  if (p.maxBytes !== undefined && Buffer.byteLength(raw, 'utf8') > p.maxBytes) {
    return {
      error: { field: p.name, rule: `${p.name} must be at most ${p.maxBytes} bytes`, reason: 'too_long' },
    }
  }
  return { value: raw }
}
