import type { ProbeResult, ServiceStatus } from './types.js'

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
    ...(probe ? { detail: probe.detail } : {}),
    ...(probe?.latencyMs === undefined ? {} : { latencyMs: probe.latencyMs }),
  }
}

/** True when every service answered its probe. */
export function allRunning(services: ServiceStatus[]): boolean {
  return services.length > 0 && services.every((s) => s.state === 'running')
}
