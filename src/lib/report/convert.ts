/**
 * DuckDB values → plain JSON-able JS: integers of any width become numbers, timestamps ISO strings,
 * dates YYYY-MM-DD, nested lists/structs converted recursively.
 */
export function toPlainValue(value: unknown, type?: string): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null
    const iso = value.toISOString()
    return type === 'DATE' ? iso.slice(0, 10) : iso
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (Array.isArray(value)) return value.map((v) => toPlainValue(v))
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toPlainValue(v)]),
    )
  }
  return value
}

/** Converts one result row given its column types. */
export function toPlainRow(
  row: Record<string, unknown>,
  types: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) out[k] = toPlainValue(v, types[k])
  return out
}
