// bench/hdfs.ts — `npx tsx bench/hdfs.ts [--mb 256] [--files 500]`
// The WebHDFS client against the embedded gateway (same process, loopback), next to plain file-system
// baselines: one big file up and down (streamed; peak RSS sampled to show nothing is buffered whole),
// many small lake writes (the stream's Parquet flushes), renames (the commit protocol), a big listing.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebHdfsClient } from '../src/lib/hdfs/client.js'
import { startWebHdfsGateway } from '../src/lib/hdfs/gateway.js'
import { openLake } from '../src/lib/lake/open.js'
import type { Lake } from '../src/lib/lake/types.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const MB = arg('mb', 256)
const FILES = arg('files', 500)

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 20)

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const r = await fn()
  return [r, (performance.now() - t0) / 1000]
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++)
    }),
  )
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-bench-hdfs-'))
const gw = await startWebHdfsGateway({ port: 0, root: path.join(dir, 'hdfs') })
try {
  const client = new WebHdfsClient({ baseUrl: gw.url, user: 'bench' })
  const big = path.join(dir, 'big.bin')
  const out = createWriteStream(big)
  const block = randomBytes(1 << 20)
  for (let i = 0; i < MB; i++)
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()))
  await new Promise<void>((r) => out.end(() => r()))

  const [, cp] = await timed(() => fs.copyFile(big, path.join(dir, 'copy.bin')))
  await fs.rm(path.join(dir, 'copy.bin'))
  peakRss = process.memoryUsage().rss
  const rssBefore = peakRss
  const [, up] = await timed(() => client.createFromFile('/bench/big.bin', big))
  const [, down] = await timed(() => client.openToFile('/bench/big.bin', path.join(dir, 'down.bin')))
  const rssGrowth = (peakRss - rssBefore) / 2 ** 20

  const small = randomBytes(20_000)
  const file: Lake = openLake(pathToFileURL(path.join(dir, 'file-lake')).href, { hdfsUser: 'bench' })
  const hdfs: Lake = openLake(`hdfs://127.0.0.1:${gw.port}/lake`, { hdfsUser: 'bench' })
  const rows: string[][] = []
  for (const [name, lake] of [
    ['file-lake', file],
    ['hdfs-lake', hdfs],
  ] as const) {
    const [, seq] = await timed(async () => {
      for (let i = 0; i < FILES; i++) await lake.writeFile(`seq/f${i}.parquet`, small)
    })
    const [, par] = await timed(() => pool(FILES, 8, (i) => lake.writeFile(`par/f${i}.parquet`, small)))
    const [, ren] = await timed(async () => {
      for (let i = 0; i < FILES; i++)
        await lake.rename(`par/f${i}.parquet`, `final/dt=2026-11-28/f${i}.parquet`)
    })
    const [listed, list] = await timed(() => lake.list('final/dt=2026-11-28'))
    if (listed.length !== FILES) throw new Error(`${name}: listed ${listed.length}, expected ${FILES}`)
    rows.push([
      name,
      (FILES / seq).toFixed(0),
      (FILES / par).toFixed(0),
      (FILES / ren).toFixed(0),
      (list * 1000).toFixed(0),
    ])
  }
  clearInterval(sampler)
  console.log(
    `node ${process.version}, ${os.cpus().length} cores, gateway and client in one process, loopback`,
  )
  console.log(
    `big file ${MB} MiB: fs.copyFile ${(MB / cp).toFixed(0)} MiB/s | CREATE (2 steps, streamed) ${(MB / up).toFixed(0)} MiB/s | OPEN to file ${(MB / down).toFixed(0)} MiB/s | peak RSS growth ${rssGrowth.toFixed(0)} MiB`,
  )
  console.log(
    `${FILES} files of 20 kB: writes/s sequential | writes/s 8 concurrent | renames/s (mkdirs+stat+rename) | list ${FILES} entries ms`,
  )
  for (const r of rows) console.log(`  ${r[0]}: ${r[1]} | ${r[2]} | ${r[3]} | ${r[4]}`)
} finally {
  clearInterval(sampler)
  await gw.close()
  await fs.rm(dir, { recursive: true, force: true })
}
