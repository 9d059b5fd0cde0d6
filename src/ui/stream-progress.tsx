import { Box, Text } from 'ink'
import type { StreamProgress } from '../lib/stream/stream.js'

/** The live view of `game stream` on a TTY: events/s, lag, rows per table, last flush. */
export function StreamProgressView({ progress }: { progress?: StreamProgress }) {
  if (!progress) return <Text>stream: recovering the lake and joining the group…</Text>
  if (progress.waiting) return <Text>stream: {progress.waiting}</Text>
  const lag = Object.values(progress.lag).reduce((a, b) => a + b, 0)
  const last = progress.lastFlush
  return (
    <Box flexDirection="column">
      <Box gap={1}>
        <Text color="cyan">{progress.phase}</Text>
        <Text>{progress.events} events</Text>
        <Text>{progress.eventsPerSec}/s</Text>
        <Text color={lag > 0 ? 'yellow' : 'green'}>lag {lag}</Text>
        <Text color={progress.rejected > 0 ? 'red' : 'green'}>{progress.rejected} rejected</Text>
        <Text dimColor>
          {progress.buffered} buffered, partitions [{progress.assigned.join(',')}]
        </Text>
      </Box>
      <Box gap={2}>
        {Object.entries(progress.rows).map(([table, n]) => (
          <Text key={table}>
            {table} <Text bold>{n}</Text>
          </Text>
        ))}
      </Box>
      <Text dimColor>
        {last
          ? `flush ${progress.flushes}: ${last.rows} rows, ${last.files} files in ${last.durationMs}ms (${last.reason}) at ${last.at}`
          : 'no flush yet'}
      </Text>
      {progress.undecodable > 0 ? (
        <Text color="red">
          {progress.undecodable} undecodable batch(es) skipped into rejected, last: {progress.lastUndecodable}
        </Text>
      ) : null}
      {progress.warnings.length > 0 ? (
        <Text color="yellow">
          {progress.warnings.length} warning(s), last: {progress.warnings.at(-1)}
        </Text>
      ) : null}
    </Box>
  )
}
