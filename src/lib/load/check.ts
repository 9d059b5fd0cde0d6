import { EVENT_TYPES, type TableName } from '../events/catalog.js'
import { openLake } from '../lake/open.js'
import type { Lake } from '../lake/types.js'
import { openLakeQuery } from '../report/engine.js'
import { lakeCacheDir } from '../report/snapshot.js'
import {
  type CheckRow,
  diffLedger,
  FAILED_STATUSES,
  type LakeCount,
  type Ledger,
  readLedger,
} from './ledger.js'

export interface CheckOptions {
  /** The ledger written by `game load --ledger`. */
  ledgerFile: string
  /** The lake URL (hdfs://… or file://…). */
  lake: string
  hdfsUser: string
  datanodeHost?: string
  /** Holds the report cache of lake files. */
  dataDir: string
}

export interface CheckDeps {
  signal?: AbortSignal
  /**
   * Counts lake rows per Host and event_type (only rows with this User-Agent when given); defaults to
   * DuckDB over the lake (openLakeQuery).
   */
  countLake?: (lake: Lake, cacheDir: string, signal?: AbortSignal, userAgent?: string) => Promise<LakeCounts>
}

export interface LakeCounts {
  counts: LakeCount[]
  /** Files the lake's commit records list but that are gone (their rows cannot be counted). */
  missingFiles: string[]
}

export interface CheckResult {
  ok: boolean
  ledgerFile: string
  lake: string
  scenario: string
  /** The run id the lake rows were matched on (their User-Agent); absent for ledgers without one. */
  runId?: string
  /** Rows with a failing status (missing, duplicate, amount-mismatch). */
  problems: number
  totals: { sent: number; accepted: number; lake: number }
  /** Committed lake files that are gone. */
  missingFiles: string[]
  rows: CheckRow[]
}

/**
 * The tables counted and the event types in each: every table an event type lands in. A type's first
 * table (purchases, add_money, guild_membership, cancel_membership, messages) is compared with the
 * ledger; the others (transactions) must hold the same number of rows.
 */
export function countTables(): Map<TableName, string[]> {
  const out = new Map<TableName, string[]>()
  for (const spec of EVENT_TYPES) {
    for (const table of spec.tables) {
      if (!out.has(table)) out.set(table, [])
      out.get(table)!.push(spec.type)
    }
  }
  return out
}

/**
 * SELECT per table: rows (and summed amount for add_money) per Host and event_type; with `byAgent`,
 * only the rows whose User-Agent is the bound parameter $1 (one load run's).
 */
export function countSql(table: TableName, byAgent = false): string {
  const amount = table === 'add_money' ? 'sum(amount)' : 'NULL'
  const where = byAgent ? ' WHERE "User-Agent" = $1' : ''
  return `SELECT "Host" AS host, event_type, count(*) AS n, ${amount} AS amount FROM "${table}"${where} GROUP BY 1, 2`
}

/** Counts the lake's rows per Host and event_type through the report engine (DuckDB over a snapshot). */
export async function countLakeRows(
  lake: Lake,
  cacheDir: string,
  signal?: AbortSignal,
  userAgent?: string,
): Promise<LakeCounts> {
  const q = await openLakeQuery({ lake, cacheDir, signal })
  try {
    const out: LakeCount[] = []
    for (const table of countTables().keys()) {
      const r =
        userAgent === undefined
          ? await q.query(countSql(table))
          : await q.query(countSql(table, true), [userAgent])
      for (const row of r.rows) {
        const count: LakeCount = {
          host: String(row.host ?? ''),
          eventType: String(row.event_type ?? ''),
          table,
          rows: Number(row.n),
        }
        if (row.amount !== null && row.amount !== undefined) count.amount = Number(row.amount)
        out.push(count)
      }
    }
    return { counts: out, missingFiles: [...q.snapshot.missing] }
  } finally {
    q.close()
  }
}

/**
 * Reconciles a load ledger with the lake: per player and event type, sent vs accepted vs rows in the
 * lake. A ledger with a run id counts only that run's rows (their User-Agent names it), so the same
 * players in earlier runs (e.g. `game demo`'s seed players) are not duplicates. ok is false when events are missing (fewer rows than accepted), duplicated (more rows than
 * sent) or add_money amounts differ.
 */
export async function checkLedger(options: CheckOptions, deps: CheckDeps = {}): Promise<CheckResult> {
  const ledger: Ledger = await readLedger(options.ledgerFile)
  const lake = openLake(options.lake, { hdfsUser: options.hdfsUser, datanodeHost: options.datanodeHost })
  const { counts, missingFiles } = await (deps.countLake ?? countLakeRows)(
    lake,
    lakeCacheDir(options.dataDir, options.lake),
    deps.signal,
    ledger.userAgent,
  )
  const rows = diffLedger(ledger.entries, counts)
  const problems = rows.filter((r) => FAILED_STATUSES.includes(r.status)).length
  const totals = { sent: 0, accepted: 0, lake: 0 }
  for (const r of rows) {
    totals.sent += r.sent
    totals.accepted += r.accepted
    totals.lake += r.lake
  }
  return {
    ok: problems === 0,
    ledgerFile: options.ledgerFile,
    lake: options.lake,
    scenario: ledger.scenario,
    ...(ledger.runId ? { runId: ledger.runId } : {}),
    problems,
    totals,
    missingFiles,
    rows,
  }
}

/** What to run next after a failed check, from the statuses that failed. */
export function checkHint(r: CheckResult): string {
  const statuses = new Set(
    r.rows.filter((row) => FAILED_STATUSES.includes(row.status)).map((row) => row.status),
  )
  const parts: string[] = []
  if (statuses.has('missing')) {
    parts.push(
      `Accepted events are not in the lake yet: run \`game stream --once\` (or wait for the running stream's next flush), then \`game check --ledger ${r.ledgerFile}\` again; if they still miss, see \`game logs\`.`,
    )
  }
  if (statuses.has('duplicate')) {
    parts.push(
      r.runId
        ? 'Rows of this run landed twice: see `game logs` for the stream (a restart that re-wrote a batch).'
        : 'This ledger has no run id, so every row of its players counts: earlier runs with the same players look like duplicates. Re-run `game load --ledger` (ledgers now carry a run id), or use a fresh lake.',
    )
  }
  if (statuses.has('amount-mismatch') || statuses.has('table-mismatch'))
    parts.push('Tables disagree with the ledger or each other: see `game logs` for the stream.')
  return parts.join(' ')
}
