import { randomUUID } from 'node:crypto'
import { META_DIR } from '../lake/layout.js'
import type { Lake } from '../lake/types.js'

/**
 * Fields other producers add to events (route.ts unknownFieldNames) stay in raw_event only: the
 * tables' columns come from the catalog, so no schema grows by itself. The stream counts them and
 * keeps the counts in the lake, one small file per stream run, rewritten after a flush that saw
 * new ones, so `game stream status` can say "unknown fields seen: …". Counted as events are read:
 * a run that dies before its flush may count some events that the next run reads again.
 */
export const UNKNOWN_FIELDS_DIR = `${META_DIR}/schema`

/** Distinct names kept per run; more are counted under OTHER_FIELDS (a producer sending random keys). */
export const MAX_UNKNOWN_NAMES = 100
export const OTHER_FIELDS = '(other names)'

export interface UnknownFieldsFile {
  formatVersion: 1
  topic: string
  group: string
  updatedAt: string
  /** Field name → events that carried it. */
  fields: Record<string, number>
}

export class UnknownFieldCounter {
  private readonly counts = new Map<string, number>()
  private dirty = false
  private readonly path = `${UNKNOWN_FIELDS_DIR}/unknown-fields-${randomUUID()}.json`

  constructor(
    private readonly topic: string,
    private readonly group: string,
  ) {}

  /** One event's unknown field names. */
  note(names: readonly string[]): void {
    for (const n of names) {
      const name = this.counts.has(n) || this.counts.size < MAX_UNKNOWN_NAMES ? n : OTHER_FIELDS
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
    }
    this.dirty = true
  }

  /** The counts so far, by name. */
  fields(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  /** Writes this run's file when something new was counted since the last save. */
  async save(lake: Lake, now: Date = new Date()): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    const file: UnknownFieldsFile = {
      formatVersion: 1,
      topic: this.topic,
      group: this.group,
      updatedAt: now.toISOString(),
      fields: this.fields(),
    }
    try {
      await lake.writeFile(this.path, `${JSON.stringify(file)}\n`, { overwrite: true })
    } catch (error) {
      this.dirty = true
      throw error
    }
  }
}

/** Sums every run's counts for a topic: field name → events, most seen first. */
export async function readUnknownFields(lake: Lake, topic: string): Promise<Record<string, number>> {
  const total = new Map<string, number>()
  for (const entry of await lake.list(UNKNOWN_FIELDS_DIR)) {
    if (!entry.name.endsWith('.json')) continue
    let file: UnknownFieldsFile
    try {
      file = JSON.parse((await lake.readFile(`${UNKNOWN_FIELDS_DIR}/${entry.name}`)).toString('utf8'))
    } catch {
      continue // gone meanwhile, or half-written by a crash: it only ever held counts
    }
    if (file?.formatVersion !== 1 || file.topic !== topic || typeof file.fields !== 'object') continue
    for (const [name, n] of Object.entries(file.fields))
      if (Number.isSafeInteger(n) && n > 0) total.set(name, (total.get(name) ?? 0) + n)
  }
  return Object.fromEntries([...total].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))
}
