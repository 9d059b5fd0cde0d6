import type { LakeQuery, ParamType } from './engine.js'
import { type ReportFilterInput, reportParams } from './filters.js'

/**
 * The reports: one SQL constant and one pure row mapper each. Every SQL takes the same bound
 * parameters ($host, $since, $until, $limit; see filters.ts), never spliced text.
 */

export const REPORT_NAMES = ['balances', 'purchases', 'money', 'guilds', 'messages', 'overview'] as const
export type ReportName = (typeof REPORT_NAMES)[number]

/** Host / time filter on a table with the seed's Host and timestamp columns. */
const FILTER = `($host IS NULL OR Host = $host)
    AND ($since IS NULL OR timestamp >= CAST($since AS TIMESTAMP))
    AND ($until IS NULL OR timestamp < CAST($until AS TIMESTAMP))`

export const BALANCES_SQL = `SELECT Host AS host,
  COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0) AS added,
  COALESCE(-SUM(amount) FILTER (WHERE amount < 0), 0) AS spent,
  COALESCE(SUM(amount), 0) AS balance,
  COUNT(*) AS transactions
FROM transactions
WHERE ${FILTER}
GROUP BY Host
ORDER BY balance DESC, host
LIMIT $limit`

export const PURCHASES_SQL = `SELECT event_type,
  COALESCE(description, '') AS description,
  COUNT(*) AS count,
  COALESCE(-SUM(amount), 0) AS spent,
  COUNT(DISTINCT Host) AS buyers
FROM purchases
WHERE ${FILTER}
GROUP BY 1, 2
ORDER BY count DESC, event_type, description
LIMIT $limit`

/** The seed notebook's: select Host, sum(amount), avg(amount), count(amount) from add_money group by Host. */
export const MONEY_SQL = `SELECT Host AS host,
  SUM(amount) AS sum,
  AVG(amount) AS avg,
  COUNT(amount) AS count
FROM add_money
WHERE ${FILTER}
GROUP BY Host
ORDER BY host
LIMIT $limit`

/**
 * Per guild: joins, cancels, members (players whose latest event for the guild is a join; a cancel
 * at the same instant wins), churn % (cancels / joins), and the median seconds from a cancel back to
 * the same player's latest earlier join of that guild (ASOF join).
 */
export const GUILDS_SQL = `WITH j AS (
  SELECT Host, COALESCE(guild_name, '') AS guild_name, timestamp FROM guild_membership WHERE ${FILTER}
), c AS (
  SELECT Host, COALESCE(guild_name, '') AS guild_name, timestamp FROM cancel_membership WHERE ${FILTER}
), ev AS (
  SELECT Host, guild_name, timestamp, 1 AS joined FROM j
  UNION ALL SELECT Host, guild_name, timestamp, 0 AS joined FROM c
), latest AS (
  SELECT guild_name, Host, arg_max(joined, epoch_us(timestamp) * 2 + (1 - joined)) AS member
  FROM ev GROUP BY guild_name, Host
), pairs AS (
  SELECT c.guild_name, (epoch_ms(c.timestamp) - epoch_ms(j.timestamp)) / 1000.0 AS seconds
  FROM c ASOF JOIN j ON c.Host = j.Host AND c.guild_name = j.guild_name AND c.timestamp >= j.timestamp
), guilds AS (
  SELECT guild_name FROM j UNION SELECT guild_name FROM c
)
SELECT g.guild_name,
  COALESCE(jc.n, 0) AS joins,
  COALESCE(cc.n, 0) AS cancels,
  COALESCE(m.n, 0) AS members,
  CASE WHEN COALESCE(jc.n, 0) = 0 THEN NULL ELSE ROUND(100.0 * COALESCE(cc.n, 0) / jc.n, 1) END AS churn_pct,
  p.median_s AS median_time_to_cancel_s
FROM guilds g
LEFT JOIN (SELECT guild_name, COUNT(*) AS n FROM j GROUP BY 1) jc USING (guild_name)
LEFT JOIN (SELECT guild_name, COUNT(*) AS n FROM c GROUP BY 1) cc USING (guild_name)
LEFT JOIN (SELECT guild_name, COUNT(*) FILTER (WHERE member = 1) AS n FROM latest GROUP BY 1) m USING (guild_name)
LEFT JOIN (SELECT guild_name, MEDIAN(seconds) AS median_s FROM pairs GROUP BY 1) p USING (guild_name)
ORDER BY members DESC, joins DESC, g.guild_name
LIMIT $limit`

export const MESSAGES_SQL = `SELECT timestamp, Host AS host, message_post AS message
FROM messages
WHERE ${FILTER}
ORDER BY timestamp DESC, event_id
LIMIT $limit`

/**
 * One row per figure: events per type, totals, players (distinct Host), paying players (added
 * money), coins added and spent, ARPPU (coins added / paying players), events per day, rejected.
 * transactions already holds every purchase and add_money event, so it is scanned once.
 */
export const OVERVIEW_SQL = `WITH ev AS (
  SELECT event_type, Host, timestamp, amount FROM transactions WHERE ${FILTER}
  UNION ALL SELECT event_type, Host, timestamp, NULL FROM guild_membership WHERE ${FILTER}
  UNION ALL SELECT event_type, Host, timestamp, NULL FROM cancel_membership WHERE ${FILTER}
  UNION ALL SELECT event_type, Host, timestamp, NULL FROM messages WHERE ${FILTER}
), figures AS (
  SELECT 1 AS s, 'events' AS metric, event_type AS key, COUNT(*)::DOUBLE AS value FROM ev GROUP BY event_type
  UNION ALL SELECT 2, 'events_total', NULL, COUNT(*) FROM ev
  UNION ALL SELECT 3, 'players', NULL, COUNT(DISTINCT Host) FROM ev
  UNION ALL SELECT 4, 'paying_players', NULL, COUNT(DISTINCT Host) FILTER (WHERE event_type = 'add_money') FROM ev
  UNION ALL SELECT 5, 'coins_added', NULL, COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0) FROM ev
  UNION ALL SELECT 6, 'coins_spent', NULL, COALESCE(-SUM(amount) FILTER (WHERE amount < 0), 0) FROM ev
  UNION ALL SELECT 7, 'arppu', NULL,
    ROUND(SUM(amount) FILTER (WHERE event_type = 'add_money')
      / NULLIF(COUNT(DISTINCT Host) FILTER (WHERE event_type = 'add_money'), 0), 2) FROM ev
  UNION ALL SELECT 8, 'events_per_day', strftime(timestamp, '%Y-%m-%d'), COUNT(*) FROM ev GROUP BY 3
  UNION ALL SELECT 9, 'rejected', NULL, COUNT(*) FROM rejected WHERE ${FILTER}
)
SELECT metric, key, value FROM figures
ORDER BY s, CASE WHEN s = 8 THEN key END, value DESC, key
LIMIT $limit`

export interface BalanceRow {
  host: string
  added: number
  spent: number
  balance: number
  transactions: number
}
export interface PurchaseRow {
  event_type: string
  description: string
  count: number
  spent: number
  buyers: number
}
export interface MoneyRow {
  host: string
  sum: number
  avg: number
  count: number
}
export interface GuildRow {
  guild_name: string
  joins: number
  cancels: number
  members: number
  churn_pct: number | null
  median_time_to_cancel_s: number | null
}
export interface MessageRow {
  timestamp: string
  host: string
  message: string
}
export interface OverviewRow {
  metric: string
  key: string | null
  value: number | null
}

export interface ReportRows {
  balances: BalanceRow
  purchases: PurchaseRow
  money: MoneyRow
  guilds: GuildRow
  messages: MessageRow
  overview: OverviewRow
}

export interface ReportResult<N extends ReportName = ReportName> {
  report: N
  rows: ReportRows[N][]
  /** Files skipped to answer (unreadable Parquet), one line each; absent when none were. */
  warnings?: string[]
}

type Raw = Record<string, unknown>
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v))

export interface ReportDefinition<N extends ReportName> {
  name: N
  title: string
  sql: string
  /** --limit when none is given. */
  defaultLimit?: number
  mapRow(row: Raw): ReportRows[N]
}

export const REPORTS: { [N in ReportName]: ReportDefinition<N> } = {
  balances: {
    name: 'balances',
    title: 'Balances per player (Host)',
    sql: BALANCES_SQL,
    mapRow: (r) => ({
      host: str(r.host),
      added: num(r.added),
      spent: num(r.spent),
      balance: num(r.balance),
      transactions: num(r.transactions),
    }),
  },
  purchases: {
    name: 'purchases',
    title: 'Purchases per item',
    sql: PURCHASES_SQL,
    mapRow: (r) => ({
      event_type: str(r.event_type),
      description: str(r.description),
      count: num(r.count),
      spent: num(r.spent),
      buyers: num(r.buyers),
    }),
  },
  money: {
    name: 'money',
    title: 'Money added per player (Host)',
    sql: MONEY_SQL,
    mapRow: (r) => ({ host: str(r.host), sum: num(r.sum), avg: num(r.avg), count: num(r.count) }),
  },
  guilds: {
    name: 'guilds',
    title: 'Guilds',
    sql: GUILDS_SQL,
    mapRow: (r) => ({
      guild_name: str(r.guild_name),
      joins: num(r.joins),
      cancels: num(r.cancels),
      members: num(r.members),
      churn_pct: numOrNull(r.churn_pct),
      median_time_to_cancel_s: numOrNull(r.median_time_to_cancel_s),
    }),
  },
  messages: {
    name: 'messages',
    title: 'Latest messages',
    sql: MESSAGES_SQL,
    defaultLimit: 20,
    mapRow: (r) => ({ timestamp: str(r.timestamp), host: str(r.host), message: str(r.message) }),
  },
  overview: {
    name: 'overview',
    title: 'Overview',
    sql: OVERVIEW_SQL,
    mapRow: (r) => ({
      metric: str(r.metric),
      key: r.key === null || r.key === undefined ? null : String(r.key),
      value: numOrNull(r.value),
    }),
  },
}

const PARAM_TYPES: Record<string, ParamType> = {
  host: 'VARCHAR',
  since: 'VARCHAR',
  until: 'VARCHAR',
  limit: 'INTEGER',
}

export interface RunReportOptions {
  query: LakeQuery
  filters?: ReportFilterInput
}

/** Validates a report's filters (usage errors, exit 2) without touching the lake. */
export function reportFilterParams(name: ReportName, filters: ReportFilterInput = {}) {
  return reportParams(filters, REPORTS[name].defaultLimit)
}

/** Runs one report over an open lake query: validated filters bound as parameters, rows mapped. */
export async function runReport<N extends ReportName>(
  name: N,
  options: RunReportOptions,
): Promise<ReportResult<N>> {
  const def = REPORTS[name] as ReportDefinition<N>
  const params = reportParams(options.filters ?? {}, def.defaultLimit)
  const result = await options.query.query(def.sql, { ...params }, PARAM_TYPES)
  return { report: name, rows: result.rows.map((r) => def.mapRow(r)) }
}
