import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { openLogManager } from '../../../../src/lib/broker/log/index.js'
import { decodeRecords, withTempDir } from './helpers.js'

const child = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url))

/** Runs the appending child until it reported `atLeast` resolved appends, then SIGKILLs it. */
function runAndKill(dir: string, atLeast: number): Promise<{ offset: bigint; count: number; tag: string }[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acked: { offset: bigint; count: number; tag: string }[] = []
    let buf = ''
    let stderr = ''
    let killed = false
    proc.stderr.on('data', (d) => {
      stderr += d
    })
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop()!
      for (const line of lines) {
        if (line === 'ready') continue
        const [o, n, tag] = line.split(' ')
        acked.push({ offset: BigInt(o), count: Number(n), tag })
      }
      if (!killed && acked.length >= atLeast) {
        killed = true
        proc.kill('SIGKILL')
      }
    })
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked)
      else reject(new Error(`child exited ${code}: ${stderr}`))
    })
  })
}

describe('durability under kill -9', () => {
  it('every append the child saw resolve (fsync always) is readable after reopen', () =>
    withTempDir(async (dir) => {
      let total = 0
      for (let round = 0; round < 2; round++) {
        const acked = await runAndKill(dir, 400 + round * 200)
        expect(acked.length).toBeGreaterThanOrEqual(400)
        total += acked.length
        const m = await openLogManager({ dataDir: dir, fsync: 'always', retentionCheckIntervalMs: 0 })
        const log = m.partition('crash', 0)!
        const byOffset = new Map<bigint, string>()
        let next = 0n
        while (next < log.highWatermark()) {
          const recs = await decodeRecords((await log.read(next, 256 * 1024)).records)
          for (const r of recs) byOffset.set(r.offset, r.value)
          next = recs[recs.length - 1].offset + 1n
        }
        // Offsets are dense from 0 to the high watermark: no holes after recovery.
        expect(byOffset.size).toBe(Number(log.highWatermark()))
        for (const a of acked) {
          for (let i = 0; i < a.count; i++) {
            const v = byOffset.get(a.offset + BigInt(i))
            expect(v?.startsWith(`${a.tag}-${i}`), `offset ${a.offset + BigInt(i)} of ${a.tag}`).toBe(true)
          }
        }
        await m.close()
      }
      expect(total).toBeGreaterThanOrEqual(1000)
    }))
})
