import type { Cell } from '../../ui/table.js'
import type { ProbeResult, ServiceStatus, StackStatusResult, TopicStatus } from './types.js'

/** Pure: a service's probe result becomes its status entry. */
export function toServiceStatus(
  service: { name: string; address: string; pid?: number },
  probe: ProbeResult | undefined,
): ServiceStatus {
  const state = probe === undefined ? 'stopped' : probe.ok ? 'running' : 'unreachable'
  return {
    name: service.name,
    address: service.address,
    state,
    ...(service.pid === undefined ? {} : { pid: service.pid }),
    ...(probe && !probe.ok ? { detail: probe.detail } : {}),
  }
}

/** True when every service answered its probe. */
export function allRunning(services: ServiceStatus[]): boolean {
  return services.length > 0 && services.every((s) => s.state === 'running')
}

function dataColumn(result: StackStatusResult): string {
  if (result.mode === 'docker') return `docker volumes (${result.composeFile ?? 'docker-compose.yml'})`
  if (result.mode === 'external') return '(external cluster)'
  return result.dataDir
}

export const STATUS_HEAD = ['service', 'address', 'state', 'pid', 'data dir']

/** Pure: rows of the status table (service, address, state, pid, data dir). */
export function statusRows(result: StackStatusResult): Cell[][] {
  return result.services.map((s) => [
    s.name,
    s.address,
    s.detail ? `${s.state} (${s.detail})` : s.state,
    s.pid ?? (result.mode === 'embedded' ? '' : result.mode),
    dataColumn(result),
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
