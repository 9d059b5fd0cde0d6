import { setTimeout as delay } from 'node:timers/promises'
import { ExitCode, GameError, toGameError, unreachableError } from '../errors.js'
import type { ProbeResult, ServiceSpec, StartedService } from './types.js'

export interface RunningService {
  name: string
  address: string
  stop(): Promise<void>
}

function portOf(address: string): string {
  return address.slice(address.lastIndexOf(':') + 1)
}

/** A port that is taken becomes one clear error naming the port and the flag that moves it. */
export function portInUseError(spec: ServiceSpec, cause: unknown): GameError {
  const port = portOf(spec.address)
  return new GameError('PORT_IN_USE', `Port ${port} for ${spec.name} (${spec.address}) is already in use`, {
    exitCode: ExitCode.failure,
    hint: `Stop whatever holds port ${port}, or pick another port with ${spec.portFlag ?? 'the port flag'}.`,
    cause,
    details: { service: spec.name, address: spec.address, port: Number(port), flag: spec.portFlag },
  })
}

function isPortInUse(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } }
  return e?.code === 'PORT_IN_USE' || e?.code === 'EADDRINUSE' || e?.cause?.code === 'EADDRINUSE'
}

/**
 * Starts the services in order. If one fails, the ones already started are stopped again and the
 * error is rethrown (a taken port as PORT_IN_USE naming the flag).
 */
export async function startServices(
  specs: ServiceSpec[],
  onProgress: (line: string) => void = () => {},
): Promise<RunningService[]> {
  const running: RunningService[] = []
  for (const spec of specs) {
    if (!spec.start) continue
    let started: StartedService
    try {
      started = await spec.start()
    } catch (error) {
      await stopServices(running, onProgress)
      throw isPortInUse(error) ? portInUseError(spec, error) : toGameError(error)
    }
    onProgress(`${spec.name} listening on ${started.address}`)
    running.push({ name: spec.name, address: started.address, stop: () => started.stop() })
  }
  return running
}

/** Stops services in reverse order; every one gets its stop even if an earlier one fails. */
export async function stopServices(
  running: RunningService[],
  onProgress: (line: string) => void = () => {},
): Promise<Error[]> {
  const errors: Error[] = []
  for (const service of [...running].reverse()) {
    try {
      await service.stop()
      onProgress(`${service.name} stopped`)
    } catch (error) {
      errors.push(error as Error)
      onProgress(`${service.name} failed to stop: ${(error as Error).message}`)
    }
  }
  return errors
}

/** Probes every service once, in parallel. */
export async function probeServices(
  services: Array<Pick<ServiceSpec, 'name' | 'address' | 'probe'>>,
  signal?: AbortSignal,
): Promise<ProbeResult[]> {
  return Promise.all(
    services.map(async (s) => {
      const started = performance.now()
      const result = await s
        .probe(s.address, signal)
        .catch((error: Error) => ({ ok: false, detail: error.message }))
      return { ...result, latencyMs: Math.round((performance.now() - started) * 10) / 10 }
    }),
  )
}

export interface WaitHealthyOptions {
  timeoutMs: number
  intervalMs?: number
  signal?: AbortSignal
  onProgress?: (line: string) => void
  /** Hint for the unreachable error. */
  hint?: string
}

/**
 * Probes until every service answers, reporting progress lines as services come up. Throws an
 * UNREACHABLE error naming the first service still down when the timeout passes.
 */
export async function waitHealthy(
  services: Array<Pick<ServiceSpec, 'name' | 'address' | 'probe'>>,
  options: WaitHealthyOptions,
): Promise<ProbeResult[]> {
  const deadline = Date.now() + options.timeoutMs
  const interval = options.intervalMs ?? 250
  const reported = new Set<string>()
  let attempt = 0
  for (;;) {
    options.signal?.throwIfAborted()
    const results = await probeServices(services, options.signal)
    results.forEach((r, i) => {
      const s = services[i]
      if (r.ok && !reported.has(s.name)) {
        reported.add(s.name)
        options.onProgress?.(`${s.name} is answering on ${s.address}`)
      }
    })
    if (results.every((r) => r.ok)) return results
    attempt++
    if (Date.now() >= deadline) {
      const i = results.findIndex((r) => !r.ok)
      throw unreachableError(
        services[i].name,
        services[i].address,
        options.hint ?? 'See `game logs` for what the service said.',
        new Error(results[i].detail),
      )
    }
    if (attempt % 8 === 0) {
      const waiting = services.filter((_, i) => !results[i].ok).map((s) => s.name)
      options.onProgress?.(`waiting for ${waiting.join(', ')}...`)
    }
    // An abort surfaces as the signal's reason (e.g. INTERRUPTED, exit 130), not a bare AbortError.
    await delay(interval, undefined, { signal: options.signal }).catch(() => options.signal?.throwIfAborted())
  }
}
