import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { ExitCode, GameError } from '../errors.js'
import { composeLogsArgs } from './docker.js'
import type { Spawner } from './spawner.js'
import { readState, stackLogPath } from './state.js'

/** Pure: keeps the lines that belong to a service (`[kafka]`, `[hdfs]` tags), all lines without a service. */
export function filterLogLines(lines: string[], service?: string): string[] {
  if (!service) return lines
  const tag = `[${service}]`
  return lines.filter((line) => line.includes(tag))
}

export interface StackLogsOptions {
  dataDir: string
  service?: string
  follow?: boolean
  /** Only the last N lines (default: all). */
  lines?: number
  composeFile: string
  spawner: Spawner
  /** Where the lines go (the command passes stdout). */
  write: (text: string) => void
  /** docker mode streams straight to these. */
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  signal?: AbortSignal
}

export interface StackLogsResult {
  mode: 'embedded' | 'docker'
  file?: string
  service?: string
  lines: number
}

async function followFile(
  file: string,
  from: number,
  service: string | undefined,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let position = from
  let partial = ''
  const handle = await open(file, 'r')
  try {
    while (!signal.aborted) {
      const { size } = await handle.stat()
      if (size < position) position = 0 // truncated / recreated
      if (size > position) {
        const buf = Buffer.alloc(size - position)
        const { bytesRead } = await handle.read(buf, 0, buf.length, position)
        position += bytesRead
        const text = partial + buf.subarray(0, bytesRead).toString('utf8')
        const parts = text.split('\n')
        partial = parts.pop() ?? ''
        const keep = filterLogLines(parts, service)
        if (keep.length > 0) write(`${keep.join('\n')}\n`)
      }
      await delay(200, undefined, { signal }).catch(() => {})
    }
  } finally {
    await handle.close()
  }
}

async function readAll(file: string): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of createReadStream(file)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * `game logs`: the daemon's log (filtered by service), or `docker compose logs` in docker mode.
 * With `follow`, keeps printing appended lines until the signal aborts.
 */
export async function stackLogs(options: StackLogsOptions): Promise<StackLogsResult> {
  const state = readState(options.dataDir)
  if (state?.mode === 'docker') {
    const composeFile = state.composeFile ?? options.composeFile
    const code = await options.spawner.stream(
      'docker',
      composeLogsArgs(composeFile, options.service, Boolean(options.follow)),
      {
        stdout: options.stdout,
        stderr: options.stderr,
        signal: options.signal,
      },
    )
    if (code !== 0 && !options.signal?.aborted) {
      throw new GameError('COMPOSE_FAILED', `docker compose logs failed (exit ${code})`, {
        exitCode: ExitCode.unreachable,
        hint: 'Check that Docker is running (`docker info`) and the stack is up (`game status`).',
      })
    }
    return { mode: 'docker', service: options.service, lines: 0 }
  }
  const file = stackLogPath(options.dataDir)
  const exists = await stat(file).catch(() => undefined)
  if (!exists) {
    throw new GameError('NO_LOGS', `No stack log at ${file}`, {
      exitCode: ExitCode.unreachable,
      hint: 'Start the stack with `game up` (its log goes there), or pass --data-dir.',
    })
  }
  const text = await readAll(file)
  let lines = filterLogLines(
    text.split('\n').filter((l) => l !== ''),
    options.service,
  )
  if (options.lines !== undefined) lines = lines.slice(-options.lines)
  if (lines.length > 0) options.write(`${lines.join('\n')}\n`)
  if (options.follow) {
    await followFile(
      file,
      Buffer.byteLength(text),
      options.service,
      options.write,
      options.signal ?? new AbortController().signal,
    )
  }
  return { mode: 'embedded', file, service: options.service, lines: lines.length }
}
