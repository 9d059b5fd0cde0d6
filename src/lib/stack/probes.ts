import { describeKafkaCluster } from '../kafka/admin.js'
import { Connection } from '../kafka/wire.js'
import { ApiKey } from '../protocol/apis.js'
import { ErrorCode } from '../protocol/errors.js'
import type { Message } from '../protocol/schema.js'
import type { KafkaStorage, Probe, ProbeResult } from './types.js'

function reason(error: unknown): string {
  const e = error as Error & { code?: string; cause?: { code?: string; message?: string } }
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(error)
}

/**
 * Kafka answers when a kafkajs admin can fetch cluster metadata (address: host:port[,host:port]);
 * then DescribeLogDirs on the first address tells whether its log can be written (`storage`).
 */
export const probeKafka: Probe = async (address) => {
  try {
    const brokers = address.split(',')
    const info = await describeKafkaCluster({ brokers, connectionTimeout: 1500, retries: 0 })
    const storage = await describeKafkaStorage(brokers[0])
    return {
      ok: true,
      detail: `${info.brokers.length} broker(s), cluster ${info.clusterId}`,
      ...(storage ? { storage } : {}),
    }
  } catch (error) {
    return { ok: false, detail: reason(error) }
  }
}

/** Pure: a DescribeLogDirs response's results as log dir states. */
export function logDirsFromResponse(results: Message[]): KafkaStorage {
  const num = (v: unknown) => (typeof v === 'bigint' && v >= 0n ? Number(v) : undefined)
  const logDirs = results.map((r) => {
    const usableBytes = num(r.usableBytes)
    const totalBytes = num(r.totalBytes)
    return {
      dir: r.logDir as string,
      ok: r.errorCode !== ErrorCode.KAFKA_STORAGE_ERROR,
      ...(usableBytes === undefined ? {} : { usableBytes }),
      ...(totalBytes === undefined ? {} : { totalBytes }),
    }
  })
  return { ok: logDirs.every((d) => d.ok), logDirs }
}

/**
 * The broker's log dirs (DescribeLogDirs, no topics): a dir that cannot be written answers
 * KAFKA_STORAGE_ERROR, as in Apache Kafka; v4 adds free space. Undefined when the broker does not
 * speak the API or does not answer in time (the metadata probe says whether it is reachable).
 */
export async function describeKafkaStorage(
  address: string,
  timeoutMs = 1500,
): Promise<KafkaStorage | undefined> {
  const conn = new Connection(address, 'game-status', timeoutMs, timeoutMs, () => {})
  try {
    await conn.ready
    const { message } = await conn.call(ApiKey.DescribeLogDirs, [0, 4], { topics: [] })
    return logDirsFromResponse(message.results as Message[])
  } catch {
    return undefined
  } finally {
    conn.close()
  }
}

/** WebHDFS answers when GETFILESTATUS on / returns a FileStatus. */
export function webHdfsProbe(user = 'game', timeoutMs = 3000): Probe {
  return async (address, signal) => {
    const url = `http://${address}/webhdfs/v1/?op=GETFILESTATUS&user.name=${encodeURIComponent(user)}`
    try {
      const timeout = AbortSignal.timeout(timeoutMs)
      const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout })
      const text = await res.text()
      if (res.status !== 200) return { ok: false, detail: `HTTP ${res.status}` }
      const body = JSON.parse(text) as { FileStatus?: { type?: string } }
      if (body.FileStatus?.type !== 'DIRECTORY')
        return { ok: false, detail: 'unexpected GETFILESTATUS answer' }
      return { ok: true, detail: 'GETFILESTATUS / ok' }
    } catch (error) {
      return { ok: false, detail: reason(error) }
    }
  }
}

/** An HTTP service answers when GET <url> is 2xx (the game API's /healthz). */
export async function probeHttp(url: string, timeoutMs = 2000): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await res.arrayBuffer()
    return res.ok ? { ok: true, detail: `HTTP ${res.status}` } : { ok: false, detail: `HTTP ${res.status}` }
  } catch (error) {
    return { ok: false, detail: reason(error) }
  }
}

/** What answers at an API URL: our game API (whatever its health), something else, or nothing. */
export interface ApiProbe {
  /** 'game-api': /healthz answered with the game API's JSON; 'other': something else answered. */
  kind: 'game-api' | 'other' | 'none'
  ok: boolean
  detail: string
  latencyMs?: number
}

/** GET <url>/healthz and tell our API (even when it answers 503) from another program. */
export async function probeGameApi(url: string, timeoutMs = 2000): Promise<ApiProbe> {
  const started = performance.now()
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })
    const text = await res.text()
    const latencyMs = Math.round((performance.now() - started) * 10) / 10
    let body: { api?: string; broker?: string } | undefined
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    if (body && typeof body.api === 'string') {
      const detail = res.ok
        ? `HTTP ${res.status}`
        : `HTTP ${res.status}: api ${body.api}, Kafka ${body.broker ?? '?'}`
      return { kind: 'game-api', ok: res.ok, detail, latencyMs }
    }
    return { kind: 'other', ok: false, detail: `HTTP ${res.status} (not the game API)`, latencyMs }
  } catch (error) {
    return { kind: 'none', ok: false, detail: reason(error) }
  }
}
