import { formatBytes } from '../bytes.js'
import type { KafkaStorage, ProbeResult, ServiceStatus } from './types.js'

/** Pure: the health line and hint of a Kafka whose log cannot be written. */
export function storageProblem(storage: KafkaStorage): { detail: string; hint: string } | undefined {
  const bad = storage.logDirs.filter((d) => !d.ok)
  if (storage.ok || bad.length === 0) return undefined
  const space = (d: KafkaStorage['logDirs'][number]) =>
    d.usableBytes === undefined
      ? ''
      : `, ${formatBytes(d.usableBytes)} free${d.totalBytes === undefined ? '' : ` of ${formatBytes(d.totalBytes)}`}`
  const dirs = bad.map((d) => `${d.dir}${space(d)}`).join('; ')
  // e.g. "cannot write /home/me/.game/kafka, 0 B free of 40.0 MiB (KAFKA_STORAGE_ERROR)"
  return {
    detail: `cannot write ${dirs} (KAFKA_STORAGE_ERROR)`,
    hint:
      `Free space at ${bad.map((d) => d.dir).join(', ')} (check with \`df -h ${bad[0].dir}\`); ` +
      'the broker retries on each produce and resumes by itself, no restart needed. `game logs` has the error.',
  }
}

/** Pure: a service's probe result becomes its status entry. */
export function toServiceStatus(
  service: { name: string; address: string; pid?: number },
  probe: ProbeResult | undefined,
): ServiceStatus {
  const problem = probe?.ok && probe.storage ? storageProblem(probe.storage) : undefined
  const state = probe === undefined ? 'stopped' : !probe.ok ? 'unreachable' : problem ? 'degraded' : 'running'
  return {
    name: service.name,
    address: service.address,
    state,
    ...(service.pid === undefined ? {} : { pid: service.pid }),
    ...(probe ? { detail: problem ? problem.detail : probe.detail } : {}),
    ...(probe?.latencyMs === undefined ? {} : { latencyMs: probe.latencyMs }),
    ...(probe?.storage ? { storage: probe.storage } : {}),
    ...(problem ? { hint: problem.hint } : {}),
  }
}

/** True when every service answered its probe (a degraded one answers too). */
export function allRunning(services: ServiceStatus[]): boolean {
  return services.length > 0 && services.every((s) => s.state === 'running' || s.state === 'degraded')
}

/** The services that answer but cannot do their job (Kafka on a full disk). */
export function degradedServices(services: ServiceStatus[]): ServiceStatus[] {
  return services.filter((s) => s.state === 'degraded')
}
