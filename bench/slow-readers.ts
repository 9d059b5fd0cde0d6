/**
 * Slow readers against the embedded broker (issue 12): a broker in a child process holding
 * 3 partitions x ~PER_PARTITION_MB, N kcat consumers with 50 MB fetch sizes that are SIGSTOPped
 * once they have started receiving; prints the broker's RSS before, while stalled (VmRSS, VmHWM),
 * and how long another kcat takes to read 100 records meanwhile.
 *
 *   npx tsx bench/slow-readers.ts [--consumers 40] [--mb 60] [--json]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const args = process.argv.slice(2)
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}
const CONSUMERS = arg('consumers', 40)
const PER_PARTITION_MB = arg('mb', 60)
const TOPIC = 'big'

function rss(pid: number): { rssMb: number; hwmMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0)
  return { rssMb: Math.round(kb('VmRSS') / 1024), hwmMb: Math.round(kb('VmHWM') / 1024) }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'game-slow-readers-'))
  const children: ChildProcess[] = []
  try {
    const script = path.join(dir, 'broker.mts')
    const serverUrl = new URL('../src/lib/broker/index.ts', import.meta.url).href
    writeFileSync(
      script,
      `import { startBroker } from '${serverUrl}'
const b = await startBroker({ port: 0, dataDir: ${JSON.stringify(path.join(dir, 'data'))}, fsync: { intervalMs: 1000 } })
process.stdout.write(String(b.port) + '\\n')
process.on('SIGTERM', () => b.close().then(() => process.exit(0)))
`,
    )
    const broker = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(broker)
    const port = await new Promise<number>((resolve, reject) => {
      broker.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      broker.once('exit', (code) => reject(new Error(`broker exited ${code}`)))
    })
    const bootstrap = `127.0.0.1:${port}`
    // ~1 KiB lines, produced with kcat per partition.
    const line = `${'x'.repeat(1000)}\n`
    const file = path.join(dir, 'lines.txt')
    writeFileSync(file, line.repeat(PER_PARTITION_MB * 1024))
    for (let p = 0; p < 3; p++) {
      const r = spawnSync(
        'kcat',
        [
          '-P',
          '-l',
          '-b',
          bootstrap,
          '-t',
          TOPIC,
          '-p',
          String(p),
          '-X',
          'linger.ms=50',
          '-X',
          'batch.num.messages=10000',
          file,
        ],
        { stdio: 'inherit' },
      )
      if (r.status !== 0) throw new Error(`kcat produce exited ${r.status}`)
    }
    const before = rss(broker.pid!)
    const consumers: ChildProcess[] = []
    let started = 0
    const allStarted = new Promise<void>((resolve) => {
      for (let i = 0; i < CONSUMERS; i++) {
        const c = spawn(
          'kcat',
          [
            '-C',
            '-b',
            bootstrap,
            '-t',
            TOPIC,
            '-o',
            'beginning',
            '-q',
            '-X',
            'fetch.max.bytes=52428800',
            '-X',
            'max.partition.fetch.bytes=52428800',
            '-X',
            'receive.message.max.bytes=104857600',
            '-X',
            'queued.max.messages.kbytes=2097151',
          ],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        )
        children.push(c)
        consumers.push(c)
        c.stdout!.once('data', () => {
          // Stop it as soon as it received something: the broker keeps answering its fetches.
          c.kill('SIGSTOP')
          if (++started === CONSUMERS) resolve()
        })
      }
    })
    await allStarted
    // Give the broker time to build what the stalled readers asked for.
    await new Promise((resolve) => setTimeout(resolve, 5000))
    const stalled = rss(broker.pid!)
    const t0 = Date.now()
    const other = spawnSync(
      'kcat',
      ['-C', '-b', bootstrap, '-t', TOPIC, '-p', '1', '-o', 'beginning', '-c', '100', '-e', '-q'],
      {
        timeout: 30_000,
        maxBuffer: 1 << 24,
      },
    )
    const otherMs = Date.now() - t0
    const otherOk = other.status === 0 && other.stdout.toString().split('\n').filter(Boolean).length === 100
    const after = rss(broker.pid!)
    const result = {
      consumers: CONSUMERS,
      perPartitionMb: PER_PARTITION_MB,
      beforeRssMb: before.rssMb,
      stalledRssMb: stalled.rssMb,
      peakRssMb: after.hwmMb,
      otherClientMs: otherMs,
      otherClientOk: otherOk,
    }
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`)
    else console.log(result)
  } finally {
    for (const c of children) {
      c.kill('SIGCONT')
      c.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
