import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { type BrokerHandle, type BrokerOptions, startBroker } from '../../../src/lib/broker/index.js'
import { createKafka } from '../../../src/lib/kafka/client.js'

export interface TestBroker {
  broker: BrokerHandle
  dataDir: string
  kafka(clientId?: string): Kafka
  restart(): Promise<void>
  close(): Promise<void>
}

/** A broker on port 0 in a temp dir, plus a kafkajs factory pointed at it. */
export async function testBroker(options: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'game-broker-'))
  const start = (port = 0) => startBroker({ port, dataDir, ...options })
  const t: TestBroker = {
    broker: await start(),
    dataDir,
    kafka: (clientId = 'test') =>
      createKafka({
        brokers: [`127.0.0.1:${t.broker.port}`],
        clientId,
        retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 1000 },
      }),
    async restart() {
      const port = t.broker.port
      await t.broker.close()
      t.broker = await start(port)
    },
    async close() {
      await t.broker.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  return t
}
