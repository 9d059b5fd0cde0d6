import type { DaemonHandle, RunOptions, RunResult, Spawner } from '../../../src/lib/stack/spawner.js'

/** Records every call and answers from a script: (command, args) => RunResult. */
export function fakeSpawner(answer: (command: string, args: string[]) => Partial<RunResult>): Spawner & {
  calls: Array<{ command: string; args: string[]; options?: RunOptions }>
} {
  const calls: Array<{ command: string; args: string[]; options?: RunOptions }> = []
  return {
    calls,
    async run(command, args, options) {
      calls.push({ command, args, options })
      return { code: 0, stdout: '', stderr: '', ...answer(command, args) }
    },
    async stream(command, args, options) {
      calls.push({ command, args, options })
      const r = { code: 0, stdout: '', stderr: '', ...answer(command, args) }
      options.stdout.write(r.stdout)
      return r.code
    },
    daemon(): DaemonHandle {
      throw new Error('not in this fake')
    },
    isAlive: () => false,
    kill: () => false,
  }
}
