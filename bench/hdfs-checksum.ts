// bench/hdfs-checksum.ts — `npx tsx bench/hdfs-checksum.ts [--mb 128] [--rounds 3]`
// GETFILECHECKSUM's cost: HDFS's MD5-of-MD5-of-CRC32C (a CRC-32C per 512 bytes in JS, MD5s in
// node:crypto) over an in-memory buffer fed in 1 MiB slices, as the gateway reads a file.
import { randomBytes } from 'node:crypto'
import { HdfsChecksumBuilder } from '../src/lib/hdfs/checksum.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}

const mb = Number(arg('mb', '128'))
const rounds = Number(arg('rounds', '3'))
const data = randomBytes(mb * 1024 * 1024)
const rates: number[] = []
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now()
  const sum = new HdfsChecksumBuilder()
  for (let i = 0; i < data.length; i += 1 << 20) sum.update(data.subarray(i, i + (1 << 20)))
  const result = sum.result()
  const ms = performance.now() - t0
  rates.push((mb / ms) * 1000)
  console.error(`round ${r + 1}: ${mb} MiB in ${ms.toFixed(0)} ms (${result.algorithm})`)
}
console.log(
  JSON.stringify({
    mb,
    rounds,
    mibPerSec: rates.map((x) => Math.round(x)),
    best: Math.round(Math.max(...rates)),
  }),
)
