import { Box, Text } from 'ink'
import type { LoadProgress } from '../lib/load/runner.js'
import { fmtMs, progressFraction } from './load-summary.js'

const WIDTH = 30

/** The live bar of `game load` on a TTY: done/total (or elapsed/duration), req/s and p99 over the last second, errors, late. */
export function LoadProgressView({ progress }: { progress?: LoadProgress }) {
  if (!progress) return <Text>load: connecting…</Text>
  const fraction = progressFraction(progress)
  const filled = Math.round(fraction * WIDTH)
  const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled)
  const count =
    progress.total !== undefined
      ? `${progress.done}/${progress.total}`
      : `${(progress.elapsedMs / 1000).toFixed(0)}s/${((progress.durationMs ?? 0) / 1000).toFixed(0)}s`
  return (
    <Box gap={1}>
      <Text color="cyan">{bar}</Text>
      <Text>{count}</Text>
      <Text>{progress.rps} req/s</Text>
      <Text>p99 {fmtMs(progress.p99)} ms</Text>
      <Text dimColor>{progress.final ? '(whole run)' : '(last 1s)'}</Text>
      <Text color={progress.errors > 0 ? 'red' : 'green'}>{progress.errors} errors</Text>
      {progress.model === 'open' ? (
        <Text color={progress.late > 0 ? 'yellow' : 'green'}>{progress.late} late</Text>
      ) : null}
      {progress.phases > 1 ? (
        <Text dimColor>
          phase {progress.phase}/{progress.phases}
        </Text>
      ) : null}
    </Box>
  )
}
