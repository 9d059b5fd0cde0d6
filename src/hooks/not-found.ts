import type { Hook } from '@oclif/core'
import { ExitCode, GameError } from '../lib/errors.js'

/** Edit distance between two command ids, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = next
    }
  }
  return row[b.length]
}

/** The closest command ids to a typo (at most 3, within a distance that still looks like a typo). */
export function suggestCommands(typed: string, ids: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3))
  return ids
    .map((id) => ({ id, d: editDistance(typed, id) }))
    .filter((x) => x.d <= limit || x.id.startsWith(`${typed} `))
    .sort((x, y) => x.d - y.d || x.id.localeCompare(y.id))
    .slice(0, 3)
    .map((x) => x.id)
}

/**
 * An unknown command: one line with "did you mean" and a hint on stderr, or under --json one error
 * document on stdout, and exit 2 (a usage error), like every other bad invocation.
 */
const hook: Hook.CommandNotFound = async (opts) => {
  const typed = opts.id.replaceAll(':', ' ')
  const ids = opts.config.commandIDs
    .map((id) => id.replaceAll(':', ' '))
    .filter((id) => !id.startsWith('stack '))
  const suggestions = suggestCommands(typed, ids)
  const bin = opts.config.bin
  const error = new GameError('COMMAND_NOT_FOUND', `${bin} ${typed}: no such command`, {
    exitCode: ExitCode.usage,
    hint:
      suggestions.length > 0
        ? `Did you mean ${suggestions.map((s) => `\`${bin} ${s}\``).join(' or ')}? \`${bin} commands\` lists them all.`
        : `\`${bin} commands\` lists the commands; \`${bin} help\` shows the usage.`,
    details: { command: typed, suggestions },
  })
  if ((opts.argv ?? []).includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
  } else {
    process.stderr.write(`Error: ${error.message}\nHint: ${error.hint}\n`)
  }
  process.exit(error.exitCode)
}

export default hook
