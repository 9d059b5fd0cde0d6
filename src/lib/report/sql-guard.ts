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
  // `EXPLAIN ANALYZE CREATE TABLE ...` runs the CREATE, and DESCRIBE/SUMMARIZE take a statement:
  // no write keyword may appear anywhere outside literals, quoted names and comments.
  const write = writeKeyword(body)
  if (write) throw refused(write)
}

/** Keywords of statements that change the database, its settings or files. */
export const WRITE_KEYWORDS = new Set([
  'ALTER',
  'ATTACH',
  'CALL',
  'CHECKPOINT',
  'COPY',
  'CREATE',
  'DELETE',
  'DETACH',
  'DROP',
  'EXECUTE',
  'EXPORT',
  'FORCE',
  'IMPORT',
  'INSERT',
  'INSTALL',
  'LOAD',
  'MERGE',
  'PREPARE',
  'RESET',
  'SET',
  'TRUNCATE',
  'UPDATE',
  'USE',
  'VACUUM',
])

/**
 * Pure: the first write keyword among the bare words of `sql` (string literals, quoted
 * identifiers and comments skipped), or null. `DO UPDATE SET` cannot occur without INSERT.
 */
export function writeKeyword(sql: string): string | null {
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1)
      if (end < 0) return null
      // Doubled quotes ('it''s') continue the literal: the next iteration starts on the second one.
      i = end + 1
      continue
    }
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i)
      i = nl < 0 ? n : nl + 1
      continue
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j])) j++
      const word = sql.slice(i, j).toUpperCase()
      // A bare word right after a dot is a column or table name (t.set), not a keyword.
      if (WRITE_KEYWORDS.has(word) && sql[i - 1] !== '.') return word
      i = j
      continue
    }
    i++
  }
  return null
}

export function refused(what: string): Error {
  return usageError(
    `Refused: \`game query\` only runs one read-only statement (${what} is not allowed)`,
    `Allowed: ${READ_ONLY_KEYWORDS.join(', ')} (PRAGMA only as table_info). The lake is read-only from here.`,
  )
}
