import type { StackStatusResult, TopicStatus } from '../lib/stack/types.js'
import type { Cell } from './table.js'

function dataColumn(result: StackStatusResult): string {
  if (result.mode === 'docker') return `docker volumes (${result.composeFile ?? 'docker-compose.yml'})`
  if (result.mode === 'external') return '(external cluster)'
  return result.dataDir
}

export const STATUS_HEAD = ['service', 'address', 'state', 'health', 'latency', 'pid', 'data dir']

/** Pure: rows of the status table (service, address, state, health, latency, pid, data dir). */
export function statusRows(result: StackStatusResult): Cell[][] {
  return result.services.map((s) => [
    s.name,
    s.listen ? `${s.address} (listening on ${s.listen})` : s.address,
    s.state,
    s.detail ?? '',
    s.latencyMs === undefined ? '' : `${s.latencyMs} ms`,
    s.pid ?? (result.mode === 'embedded' ? '' : result.mode),
    s.name === 'api' ? '' : dataColumn(result),
  ])
}

export const TOPIC_HEAD = ['topic', 'partition', 'earliest', 'latest', 'messages']

/** Pure: one row per topic partition with its earliest/latest offsets. */
export function topicRows(topics: TopicStatus[]): Cell[][] {
  const rows: Cell[][] = []
  for (const topic of topics) {
    for (const p of topic.partitions) {
      rows.push([
        topic.name,
        p.partition,
        p.earliest,
        p.latest,
        (BigInt(p.latest) - BigInt(p.earliest)).toString(),
      ])
    }
  }
  return rows
}
