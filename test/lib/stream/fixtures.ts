import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { parquetReadObjects } from 'hyparquet'
import type { Kafka } from 'kafkajs'
import { type BrokerHandle, startBroker } from '../../../src/lib/broker/index.js'
import type { TableName } from '../../../src/lib/events/catalog.js'
import { buildEvent } from '../../../src/lib/events/envelope.js'
import { startWebHdfsGateway, type WebHdfsGateway } from '../../../src/lib/hdfs/gateway.js'
import { createKafka } from '../../../src/lib/kafka/client.js'
import { listCommittedFiles } from '../../../src/lib/lake/commit.js'
import { openLake } from '../../../src/lib/lake/open.js'
import type { Lake } from '../../../src/lib/lake/types.js'

/** The embedded broker and WebHDFS gateway on port 0, a topic, and a lake on the gateway. */
export interface Stack {
  dir: string
  broker: BrokerHandle
  gateway: WebHdfsGateway
  brokers: string[]
  lakeUrl: string
  lake: Lake
  kafka(clientId?: string): Kafka
  createTopic(topic: string, partitions: number): Promise<void>
  produce(
    topic: string,
    messages: { key?: string; value: string | null; partition?: number }[],
  ): Promise<void>
  close(): Promise<void>
}

export async function startStack(): Promise<Stack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-stream-test-'))
  const broker = await startBroker({ port: 0, dataDir: path.join(dir, 'kafka'), storage: 'memory' })
  const gateway = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
  const brokers = [`127.0.0.1:${broker.port}`]
  const lakeUrl = `hdfs://127.0.0.1:${gateway.port}/tmp`
  const kafka = (clientId = 'test') =>
    createKafka({ brokers, clientId, retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 1000 } })
  return {
    dir,
    broker,
    gateway,
    brokers,
    lakeUrl,
    lake: openLake(lakeUrl, { hdfsUser: 'game' }),
    kafka,
    async createTopic(topic, partitions) {
      const admin = kafka('admin').admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
      await admin.disconnect()
    },
    async produce(topic, messages) {
      const producer = kafka('producer').producer()
      await producer.connect()
      await producer.send({ topic, acks: -1, messages })
      await producer.disconnect()
    },
    async close() {
      await broker.close()
      await gateway.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const HEADERS = { Host: 'user1.comcast.com', 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' }

/** One event of every type from the API, invalid ones, seed-format ones; with what each should produce. */
export function sampleEvents(n: number, first = 0): { value: string | null; key: string }[] {
  const out: { value: string | null; key: string }[] = []
  const at = new Date(Date.UTC(2026, 10, 28, 12, 0, 0))
  for (let i = 0; i < n; i++) {
    const ev = (type: string, fields: Record<string, string | number>) =>
      JSON.stringify(
        buildEvent({
          type,
          fields,
          headers: { ...HEADERS, Host: `user${i % 4}.comcast.com` },
          eventId: `00000000-0000-4000-8000-${String(first * 7 + out.length).padStart(12, '0')}`,
          receivedAt: new Date(at.getTime() + first * 7 + out.length),
        }),
      )
    out.push({ key: `u${i}`, value: ev('purchase_sword', { amount: -10, description: 'big' }) })
    out.push({ key: `u${i}`, value: ev('purchase_knife', { amount: -10, description: 'small' }) })
    out.push({ key: `u${i}`, value: ev('add_money', { amount: 100 + i, description: 'money' }) })
    out.push({ key: `u${i}`, value: ev('join_guild', { guild_name: `guild${i}` }) })
    out.push({
      key: `u${i}`,
      value: ev('cancel_membership', { guild_name: `guild${i}`, cancel_reason: 'bored' }),
    })
    out.push({ key: `u${i}`, value: ev('mensaje', { message_post: `hola ${i}` }) })
    out.push({ key: `u${i}`, value: ev('default', {}) })
  }
  return out
}

/** Seed-format events: flat, headers merged in, amount as a string, no envelope. */
export const SEED_EVENTS = [
  '{"Host": "user1.comcast.com", "event_type": "purchase_sword", "Accept": "*/*", "User-Agent": "ApacheBench/2.3", "description": "very sharp sword", "amount": "-10"}',
  '{"Host": "user2.att.com", "event_type": "add_money", "Accept": "*/*", "User-Agent": "ApacheBench/2.3", "description": "money", "amount": "50"}',
  '{"Host": "user2.att.com", "event_type": "join_guild", "Accept": "*/*", "User-Agent": "ApacheBench/2.3", "guild_name": "knights"}',
]

/** Invalid messages and the reason each should carry. */
export const BAD_EVENTS: { value: string | null; reason: RegExp }[] = [
  { value: 'not json at all', reason: /not valid JSON/ },
  { value: '[1,2]', reason: /not a JSON object/ },
  { value: '{"Host":"x"}', reason: /missing event_type/ },
  { value: '{"event_type":"fly_dragon"}', reason: /unknown event_type/ },
  { value: '{"event_type":"add_money","amount":"lots"}', reason: /amount must be an integer/ },
  { value: '{"event_type":"add_money","amount":-5}', reason: /greater than 0/ },
  { value: '{"event_type":"join_guild"}', reason: /guild_name is required/ },
]

/** Every published row of a table, read with hyparquet (the pure-JS reader). */
export async function readTable(lake: Lake, table: TableName): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  for (const f of await listCommittedFiles(lake, table)) {
    const buf = await lake.readFile(f.path)
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
    const part = await parquetReadObjects({ file: ab })
    const dt = /dt=(\d{4}-\d{2}-\d{2})/.exec(f.path)?.[1]
    for (const r of part) rows.push({ ...r, dt })
  }
  return rows
}

/** Runs SQL in DuckDB over a local directory (a file: lake, or the gateway's root). */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]
  } finally {
    conn.closeSync()
    db.closeSync()
  }
}
