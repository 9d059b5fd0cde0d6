#!/usr/bin/env node
// npm run bench [-- <name> ...]: runs the benchmarks one after another (never in parallel, so they
// do not disturb each other on a small machine) and prints each one's JSON summary.
// Each benchmark is a standalone script: `npx tsx bench/<name>.ts --help` shows its options.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ALL = ['broker', 'api', 'stream', 'report', 'load', 'hdfs', 'broker-log', 'lake']
const picked = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const names = picked.length > 0 ? picked : ALL
const unknown = names.filter((n) => !ALL.includes(n))
if (unknown.length > 0) {
  process.stderr.write(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${ALL.join(', ')}\n`)
  process.exit(2)
}

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

const results = {}
let failed = 0
for (const name of names) {
  process.stderr.write(`\n=== bench/${name}.ts ===\n`)
  const started = Date.now()
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('bench', `${name}.ts`)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  process.stdout.write(r.stdout)
  let summary
  try {
    const lines = r.stdout.trim().split('\n')
    const start = lines.findIndex((l) => l.startsWith('{'))
    summary = JSON.parse(lines.slice(start).join('\n'))
  } catch {
    summary = { output: r.stdout.trim().slice(-2000) }
  }
  results[name] = { exitCode: r.status, seconds: (Date.now() - started) / 1000, summary }
  if (r.status !== 0) failed++
}

const dir = path.join(root, 'bench', 'results')
mkdirSync(dir, { recursive: true })
const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, `${JSON.stringify({ node: process.version, results }, null, 2)}\n`)
process.stderr.write(`\nResults written to ${path.relative(root, file)}\n`)
process.exit(failed > 0 ? 1 : 0)
