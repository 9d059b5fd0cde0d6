import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'

/** Output of a finished command. `code` is null when it could not be started (`error` says why). */
export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  error?: NodeJS.ErrnoException
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  timeoutMs?: number
}

/** A message the daemon sends to `game up` over the IPC channel. */
export type DaemonMessage =
  | { type: 'ready'; pid: number; services: Array<{ name: string; address: string }> }
  | { type: 'error'; error: { code: string; message: string; hint?: string; exitCode?: number } }

export interface DaemonHandle {
  pid: number
  /** The first message, or an exit before any message. */
  firstMessage: Promise<{ message: DaemonMessage } | { exit: number | null; signal: string | null }>
  /** Resolves when the process exits (code or null). */
  exited: Promise<number | null>
  /** Stops listening (IPC disconnect + unref) so the caller can exit while the daemon lives on. */
  release(): void
}

/**
 * How the stack starts and stops processes. The real one spawns; tests pass a fake.
 * `isAlive`/`kill` work on pids the caller may not have spawned (a daemon from an earlier `game up`).
 */
export interface Spawner {
  run(command: string, args: string[], options?: RunOptions): Promise<RunResult>
  /** Runs with stdout/stderr going to the given streams (docker compose logs). Resolves to the exit code. */
  stream(
    command: string,
    args: string[],
    options: RunOptions & {
      stdout: NodeJS.WritableStream
      stderr: NodeJS.WritableStream
      signal?: AbortSignal
    },
  ): Promise<number | null>
  /** Starts a detached background process with stdout/stderr appended to logFile and an IPC channel. */
  daemon(command: string, args: string[], options: RunOptions & { logFile: string }): DaemonHandle
  isAlive(pid: number): boolean
  kill(pid: number, signal: NodeJS.Signals): boolean
}

function mergedEnv(env?: Record<string, string | undefined>): NodeJS.ProcessEnv | undefined {
  return env ? { ...process.env, ...env } : undefined
}

/**
 * A daemon whose parent is gone is reaped by pid 1; until then it is a zombie that still answers
 * kill(pid, 0). Linux only (/proc); elsewhere assume not a zombie.
 */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

/** The real spawner (node:child_process). */
export const nodeSpawner: Spawner = {
  run(command, args, options = {}) {
    return new Promise((resolve) => {
      let stdout = ''
      let stderr = ''
      let child: ChildProcess
      try {
        child = spawn(command, args, {
          cwd: options.cwd,
          env: mergedEnv(options.env),
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: options.timeoutMs,
        })
      } catch (error) {
        resolve({ code: null, stdout, stderr, error: error as NodeJS.ErrnoException })
        return
      }
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, error }))
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
    })
  },

  stream(command, args, options) {
    return new Promise((resolve) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: mergedEnv(options.env),
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: options.signal,
      })
      child.stdout?.pipe(options.stdout, { end: false })
      child.stderr?.pipe(options.stderr, { end: false })
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.name === 'AbortError') return
        options.stderr.write(`${error.message}\n`)
        resolve(null)
      })
      child.on('close', (code) => resolve(code))
    })
  },

  daemon(command, args, options) {
    const fd = openSync(options.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: mergedEnv(options.env),
        detached: true,
        stdio: ['ignore', fd, fd, 'ipc'],
      })
    } finally {
      closeSync(fd)
    }
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code, signal) => resolve(code ?? (signal ? null : 0)))
      child.on('error', () => resolve(null))
    })
    const firstMessage = new Promise<
      { message: DaemonMessage } | { exit: number | null; signal: string | null }
    >((resolve) => {
      child.once('message', (message) => resolve({ message: message as DaemonMessage }))
      child.once('exit', (code, signal) => resolve({ exit: code, signal }))
      child.once('error', () => resolve({ exit: null, signal: null }))
    })
    return {
      pid: child.pid ?? -1,
      firstMessage,
      exited,
      release() {
        if (child.connected) child.disconnect()
        child.unref()
      },
    }
  },

  isAlive(pid) {
    try {
      process.kill(pid, 0)
    } catch (error) {
      // EPERM: it exists but belongs to someone else.
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
    return !isZombie(pid)
  },

  kill(pid, signal) {
    try {
      process.kill(pid, signal)
      return true
    } catch {
      return false
    }
  },
}
