import { readFile, writeFile } from 'node:fs/promises'
import { ExitCode, GameError, usageError } from '../errors.js'
import { eventTypeSpec, type TableName } from '../events/catalog.js'

/** What one player sent of one event type, and what the API did with it. */
export interface LedgerEntry {
  host: string
  eventType: string
  /** Requests written to the socket. */
  sent: number
  /** 2xx answers: the API says the event is in Kafka. */
  accepted: number
  /** Non-2xx answers (400 bad params, 5xx). */
  rejected: number
  /** Sent, but no answer (timeout, connection error, run stopped): may or may not be in Kafka. */
  unanswered: number
  /** Sum of the `amount` parameter over sent requests (add_money), 0 otherwise. */
  sentAmount: number
  /** Sum of the `amount` parameter over accepted requests. */
  acceptedAmount: number
}

/** The `--ledger` file of `game load`, the input of `game check`. */
export interface Ledger {
  formatVersion: 1
  url: string
  scenario: string
  seed: string
  /**
   * The run's id, in the User-Agent of every request it sent (`userAgent`): `game check` counts only
   * lake rows with that User-Agent, so earlier runs with the same players do not show up as duplicates.
   * Absent in ledgers written before run ids: then every row of the ledger's players counts.
   */
  runId?: string
  userAgent?: string
  startedAt: string
  finishedAt: string
  entries: LedgerEntry[]
}

export function emptyEntry(host: string, eventType: string): LedgerEntry {
  return {
    host,
    eventType,
    sent: 0,
    accepted: 0,
    rejected: 0,
    unanswered: 0,
    sentAmount: 0,
    acceptedAmount: 0,
  }
}

/** Entries sorted by host, then event type (stable files, readable diffs). */
export function sortEntries<T extends { host: string; eventType: string }>(entries: Iterable<T>): T[] {
  return [...entries].sort((a, b) =>
    a.host === b.host ? (a.eventType < b.eventType ? -1 : 1) : a.host < b.host ? -1 : 1,
  )
}

export async function writeLedger(file: string, ledger: Ledger): Promise<void> {
  await writeFile(file, `${JSON.stringify(ledger, null, 2)}\n`)
}

const COUNT_KEYS = ['sent', 'accepted', 'rejected', 'unanswered', 'sentAmount', 'acceptedAmount'] as const

/** Reads and validates a ledger written by `game load --ledger`. */
export async function readLedger(file: string): Promise<Ledger> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw usageError(
      `Cannot read ledger ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'Write one with `game load --ledger FILE`, then pass the same FILE to `game check --ledger`.',
    )
  }
  return parseLedger(text, file)
}

export function parseLedger(text: string, file = 'ledger'): Ledger {
  const bad = (why: string) =>
    new GameError('LEDGER_INVALID', `${file} is not a game load ledger: ${why}`, {
      exitCode: ExitCode.usage,
      hint: 'Pass the file written by `game load --ledger FILE`.',
    })
  let ledger: Ledger
  try {
    ledger = JSON.parse(text)
  } catch (error) {
    throw bad((error as Error).message)
  }
  if (!ledger || typeof ledger !== 'object' || ledger.formatVersion !== 1)
    throw bad('formatVersion 1 expected')
  if (!Array.isArray(ledger.entries)) throw bad('entries must be a list')
  ledger.entries.forEach((e, i) => {
    if (!e || typeof e.host !== 'string' || typeof e.eventType !== 'string')
      throw bad(`entries[${i}] needs host and eventType`)
    for (const k of COUNT_KEYS) {
      if (!Number.isInteger(e[k]) || e[k] < 0) throw bad(`entries[${i}].${k} must be an integer`)
    }
  })
  return ledger
}

/** Rows counted in the lake for one player and event type. */
export interface LakeCount {
  host: string
  eventType: string
  /** The table counted; absent = the type's own (first) table. */
  table?: TableName
  rows: number
  /** Sum of `amount` for add_money rows. */
  amount?: number
}

export type CheckStatus =
  /** lake rows == accepted (and amounts agree). */
  | 'ok'
  /** accepted < lake rows <= sent: requests without an answer landed anyway. Not a failure. */
  | 'unconfirmed'
  /** `default` and paths outside the catalog land in no table: not checked. */
  | 'untracked'
  /** fewer rows than accepted requests: events lost. */
  | 'missing'
  /** more rows than sent requests: events duplicated (or written by someone else under this Host). */
  | 'duplicate'
  /** counts agree, summed amounts do not. */
  | 'amount-mismatch'
  /** the type's tables disagree (e.g. add_money has 3 rows for a player, transactions 4). */
  | 'table-mismatch'

export interface CheckRow {
  host: string
  eventType: string
  sent: number
  accepted: number
  lake: number
  status: CheckStatus
  /**
   * lake - accepted for missing, lake - sent for duplicate, lake amount - accepted amount for
   * amount-mismatch, other table - own table for table-mismatch.
   */
  difference: number
  /** Rows per table, for types that land in more than one (purchases + transactions, add_money + transactions). */
  tables?: Record<string, number>
}

export const FAILED_STATUSES: readonly CheckStatus[] = [
  'missing',
  'duplicate',
  'amount-mismatch',
  'table-mismatch',
]

/** Event types that land in a lake table (the catalog's `tables`); `default` lands nowhere. */
export function landsInLake(eventType: string): boolean {
  return (eventTypeSpec(eventType)?.tables.length ?? 0) > 0
}

/**
 * Compares a ledger with what the lake holds, per player and event type. Only the ledger's players are
 * looked at; a lake row of one of them for a type the ledger never sent is a duplicate.
 */
export function diffLedger(entries: LedgerEntry[], counts: LakeCount[]): CheckRow[] {
  const hosts = new Set(entries.map((e) => e.host))
  const key = (host: string, type: string) => `${host}\u0000${type}`
  const lake = new Map<string, LakeCount>()
  /** Rows in the type's other tables, by host+type+table (only when the counts name their tables). */
  const other = new Map<string, number>()
  const perTable = counts.some((c) => c.table !== undefined)
  for (const c of counts) {
    if (!hosts.has(c.host)) continue
    const k = key(c.host, c.eventType)
    const own = eventTypeSpec(c.eventType)?.tables[0]
    if (c.table !== undefined && c.table !== own) {
      other.set(`${k}\u0000${c.table}`, (other.get(`${k}\u0000${c.table}`) ?? 0) + c.rows)
      continue
    }
    const prev = lake.get(k)
    lake.set(
      k,
      prev ? { ...prev, rows: prev.rows + c.rows, amount: (prev.amount ?? 0) + (c.amount ?? 0) } : c,
    )
  }
  const rows: CheckRow[] = []
  const seen = new Set<string>()
  for (const e of entries) {
    const k = key(e.host, e.eventType)
    seen.add(k)
    const found = lake.get(k)
    const n = found?.rows ?? 0
    const row: CheckRow = {
      host: e.host,
      eventType: e.eventType,
      sent: e.sent,
      accepted: e.accepted,
      lake: n,
      status: 'ok',
      difference: 0,
    }
    if (!landsInLake(e.eventType)) {
      row.status = 'untracked'
    } else if (n < e.accepted) {
      row.status = 'missing'
      row.difference = n - e.accepted
    } else if (n > e.sent) {
      row.status = 'duplicate'
      row.difference = n - e.sent
    } else if (n > e.accepted) {
      row.status = 'unconfirmed'
      row.difference = n - e.accepted
    } else if (
      e.eventType === 'add_money' &&
      found?.amount !== undefined &&
      found.amount !== e.acceptedAmount
    ) {
      row.status = 'amount-mismatch'
      row.difference = found.amount - e.acceptedAmount
    }
    const tables = eventTypeSpec(e.eventType)?.tables ?? []
    if (tables.length > 1 && perTable) {
      row.tables = { [tables[0]]: n }
      for (const t of tables.slice(1)) {
        const m = other.get(`${k}\u0000${t}`) ?? 0
        row.tables[t] = m
        if (m !== n && (row.status === 'ok' || row.status === 'unconfirmed')) {
          row.status = 'table-mismatch'
          row.difference = m - n
        }
      }
    }
    rows.push(row)
  }
  for (const [k, c] of lake) {
    if (seen.has(k) || c.rows === 0) continue
    rows.push({
      host: c.host,
      eventType: c.eventType,
      sent: 0,
      accepted: 0,
      lake: c.rows,
      status: 'duplicate',
      difference: c.rows,
    })
  }
  return sortEntries(rows)
}
