// bench/stream-bare-consumer.mjs — the bare side of `bench/stream.ts --whole`: a kafkajs consumer
// process that only counts messages, plain JavaScript (no tsx), as small as a consumer gets.
// Usage: node bench/stream-bare-consumer.mjs <brokers,comma,separated> <topic> <total>
import { Kafka, logLevel } from 'kafkajs'

const [brokers, topic, total] = process.argv.slice(2)
const want = Number(total)
const kafka = new Kafka({ clientId: 'bench-bare', brokers: brokers.split(','), logLevel: logLevel.ERROR })
const consumer = kafka.consumer({
  groupId: `bench-bare-${process.pid}-${Date.now()}`,
  maxBytesPerPartition: 4 * 1024 * 1024,
  maxBytes: 16 * 1024 * 1024,
  maxWaitTimeInMs: 200,
})
await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: true })
let seen = 0
await new Promise((resolve) => {
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length
      if (seen >= want) resolve()
    },
  })
})
await consumer.disconnect()
process.stdout.write(`${JSON.stringify({ events: seen })}\n`)
