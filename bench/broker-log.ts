// bench/broker-log.ts — `npx tsx bench/broker-log.ts [--mb 64] [--inflight 8] [--records 50] [--size 200]`
// Appends --mb MiB of kafkajs-built RecordBatches (--records records of --size bytes each) to one
// partition of the durable broker log, with --inflight appends outstanding (so group commit can
// work), under fsync 'always' and then {intervalMs: 50}; then reads everything back with 1 MiB
// fetches. Prints MB/s, appends/s, fsyncs saved, and peak RSS. Bounded in size; temp dir removed.
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { type FsyncPolicy, openLogManager } from '../src/lib/broker/log/index.js'

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js')
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js')

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const MB = arg('mb', 64)
const INFLIGHT = arg('inflight', 8)
const RECORDS = arg('records', 50)
const SIZE = arg('size', 200)

let peakRss = 0
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}
const rssTimer = setInterval(sampleRss, 50)

async function template(): Promise<Buffer> {
  const value = Buffer.alloc(SIZE, 'x')
  const records = Array.from({ length: RECORDS }, (_, i) => Record({ offsetDelta: i, value, key: null }))
  const enc = await RecordBatch({ records, lastOffsetDelta: RECORDS - 1 })
  return Buffer.from(enc.buffer)
}

async function run(label: string, fsync: FsyncPolicy, batch: Buffer) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'game-bench-log-'))
  try {
    const m = await openLogManager({ dataDir: dir, fsync, retentionCheckIntervalMs: 0 })
    await m.createTopic('bench', 1)
    const log = m.partition('bench', 0)!
    const count = Math.ceil((MB * 1024 * 1024) / batch.length)
    let sent = 0
    const t0 = performance.now()
    const worker = async () => {
      while (sent < count) {
        sent++
        await log.append(Buffer.from(batch)) // a fresh buffer, as a produce request would be
      }
    }
    await Promise.all(Array.from({ length: INFLIGHT }, worker))
    const appendMs = performance.now() - t0
    const bytes = log.sizeBytes()

    const t1 = performance.now()
    let next = 0n
    let read = 0
    while (next < log.highWatermark()) {
      const { records } = await log.read(next, 1024 * 1024)
      read += records.length
      let pos = 0
      let last = next
      while (pos < records.length) {
        last = records.readBigInt64BE(pos) + BigInt(records.readInt32BE(pos + 23)) + 1n
        pos += 12 + records.readInt32BE(pos + 8)
      }
      next = last
    }
    const readMs = performance.now() - t1
    if (read !== bytes) throw new Error(`read ${read} bytes, stored ${bytes}`)
    await m.close()
    sampleRss()
    const mib = bytes / 1024 / 1024
    console.log(
      `${label.padEnd(18)} append ${(mib / (appendMs / 1000)).toFixed(1)} MiB/s, ${Math.round(count / (appendMs / 1000))} appends/s, ` +
        `${Math.round((count * RECORDS) / (appendMs / 1000))} records/s | read ${(mib / (readMs / 1000)).toFixed(1)} MiB/s ` +
        `| ${mib.toFixed(0)} MiB in ${count} batches of ${batch.length} B`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const batch = await template()
console.log(
  `node ${process.version}, ${MB} MiB per run, ${INFLIGHT} appends in flight, batch ${batch.length} B`,
)
await run("fsync 'always'", 'always', batch)
await run('fsync 50 ms', { intervalMs: 50 }, batch)
clearInterval(rssTimer)
console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB`)
