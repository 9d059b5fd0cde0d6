import { usageError } from '../errors.js'

/** Filters as given by the user (flags). */
export interface ReportFilterInput {
  host?: string
  since?: string
  until?: string
  limit?: number
}

/** Validated filters, as bound parameters ($host, $since, $until, $limit); null = no filter. */
export interface ReportParams {
  host: string | null
  /** 'YYYY-MM-DD HH:MM:SS.mmm' (UTC), compared with the naive UTC `timestamp` column. */
  since: string | null
  until: string | null
  limit: number
}

/** LIMIT when none is given: every row. */
export const NO_LIMIT = 2_147_483_647

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * Parses an ISO date or date-time (a time without zone is UTC) into the SQL timestamp text.
 * A date alone as an upper bound (`--until 2019-08-09`) includes that whole day.
 */
export function parseTimeBound(raw: string, flag: 'since' | 'until'): string {
  const s = raw.trim()
  const m = ISO.exec(s)
  let ms = Number.NaN
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, zone] = m
    const base = `${y}-${mo}-${d}T${h ?? '00'}:${mi ?? '00'}:${sec ?? '00'}${frac ? frac.slice(0, 4) : ''}`
    const z = zone ? (zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z'
    ms = Date.parse(base + z)
    // Reject dates that Date.parse silently rolls over (2019-02-30).
    if (!Number.isNaN(ms) && !zone && new Date(ms).toISOString().slice(0, 10) !== `${y}-${mo}-${d}`)
      ms = Number.NaN
    if (!Number.isNaN(ms) && flag === 'until' && h === undefined) ms += 86_400_000
  }
  if (Number.isNaN(ms)) {
    throw usageError(
      `Invalid --${flag}: ${JSON.stringify(raw)} (expected an ISO date or date-time)`,
      `For example --${flag} 2019-08-09 or --${flag} 2019-08-09T20:49:00Z.`,
    )
  }
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

/** Validates user filters into bound parameters; throws a usage error (exit 2) for bad values. */
export function reportParams(input: ReportFilterInput, defaultLimit = NO_LIMIT): ReportParams {
  const limit = input.limit ?? defaultLimit
  if (!Number.isInteger(limit) || limit < 1 || limit > NO_LIMIT) {
    throw usageError(`Invalid --limit: ${input.limit} (expected a whole number >= 1)`)
  }
  const since = input.since === undefined ? null : parseTimeBound(input.since, 'since')
  const until = input.until === undefined ? null : parseTimeBound(input.until, 'until')
  if (since !== null && until !== null && since >= until) {
    throw usageError(`--since (${input.since}) is not before --until (${input.until})`)
  }
  return { host: input.host ?? null, since, until, limit }
}
