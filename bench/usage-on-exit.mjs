// bench/usage-on-exit.mjs — preloaded (`node --import`) into the processes `bench/stream.ts --whole`
// times: on exit, writes the process's peak RSS and CPU seconds to $BENCH_USAGE_FILE.
import { writeFileSync } from 'node:fs'

const file = process.env.BENCH_USAGE_FILE
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage()
    writeFileSync(
      file,
      JSON.stringify({ maxRssMb: u.maxRSS / 1024, cpuSec: (u.userCPUTime + u.systemCPUTime) / 1e6 }),
    )
  })
}
