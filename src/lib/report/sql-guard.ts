import { usageError } from '../errors.js'

/** First keywords `game query` accepts: statements that only read. */
export const READ_ONLY_KEYWORDS = [
  'SELECT',
  'WITH',
  'FROM',
  'VALUES',
  'TABLE',
  'DESCRIBE',
  'DESC',
  'SHOW',
  'EXPLAIN',
  'SUMMARIZE',
  'PRAGMA',
] as const

/** Strips leading whitespace, `-- line` and block comments. */
function stripLeadingComments(sql: string): string {
  let s = sql
  for (;;) {
    s = s.replace(/^\s+/, '')
    if (s.startsWith('--')) {
      const nl = s.indexOf('\n')
      s = nl < 0 ? '' : s.slice(nl + 1)
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/')
      s = end < 0 ? '' : s.slice(end + 2)
    } else {
      return s
    }
  }
}

/**
 * Pure first gate of `game query`: one statement starting with a read-only keyword. PRAGMA is only
 * accepted as `PRAGMA table_info(...)` / `PRAGMA show(...)`. The engine then checks DuckDB's own
 * statement count and type, and external file access is disabled underneath both.
 * Throws a usage error (exit 2) naming what was refused.
 */
export function assertReadOnlySql(sql: string): void {
  const body = stripLeadingComments(sql)
  if (body === '')
    throw usageError('No SQL given', 'Pass one SELECT statement, e.g. game query "SELECT * FROM purchases"')
  const keyword = /^[A-Za-z_]+/.exec(body)?.[0]?.toUpperCase() ?? body.slice(0, 1)
  if (!(READ_ONLY_KEYWORDS as readonly string[]).includes(keyword)) {
    throw refused(keyword)
  }
  if (keyword === 'PRAGMA' && !/^PRAGMA\s+(table_info|show)\s*\(/i.test(body)) throw refused('PRAGMA')
}

export function refused(what: string): Error {
  return usageError(
    `Refused: \`game query\` only runs one read-only statement (${what} is not allowed)`,
    `Allowed: ${READ_ONLY_KEYWORDS.join(', ')} (PRAGMA only as table_info). The lake is read-only from here.`,
  )
}
