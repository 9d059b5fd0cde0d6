import { Box, Text } from 'ink'
import { TABLE_NAMES } from '../lib/events/catalog.js'
import type { StreamProgress } from '../lib/stream/stream.js'

/** Table name and row count cells: three per line fit 80 columns (3 x 26 + 2 gaps of 1). */
const NAME_WIDTH = Math.max(...TABLE_NAMES.map((t) => t.length)) + 1
const COUNT_WIDTH = 26 - NAME_WIDTH
const PER_LINE = 3

/** `[0,1,2]`, or `12 partitions` when the list would not fit a line. */
function partitions(assigned: number[]): string {
  const list = `[${assigned.join(',')}]`
  return list.length <= 40 ? `partitions ${list}` : `${assigned.length} partitions`
}

/**
 * The live view of `game stream` on a TTY: events, events per second of the run, lag, rows per
 * table, last flush. Every line fits 80 columns; free text (warnings) is cut at the terminal's width.
 */
export function StreamProgressView({ progress }: { progress?: StreamProgress }) {
  if (!progress) return <Text>stream: recovering the lake and joining the group…</Text>
  if (progress.waiting) return <Text>stream: {progress.waiting}</Text>
  const lag = Object.values(progress.lag).reduce((a, b) => a + b, 0)
  const last = progress.lastFlush
  const tables = Object.entries(progress.rows)
  const lines: [string, number][][] = []
  for (let i = 0; i < tables.length; i += PER_LINE) lines.push(tables.slice(i, i + PER_LINE))
  return (
    <Box flexDirection="column">
      <Box gap={1}>
        <Text color="cyan">{progress.phase}</Text>
        <Text>{progress.events} events</Text>
        <Text>{progress.eventsPerSec}/s</Text>
        <Text color={lag > 0 ? 'yellow' : 'green'}>lag {lag}</Text>
        <Text color={progress.rejected > 0 ? 'red' : 'green'}>{progress.rejected} rejected</Text>
      </Box>
      <Text dimColor wrap="truncate-end">
        {progress.buffered} buffered, {partitions(progress.assigned)}
      </Text>
      {lines.map((line) => (
        <Box key={line[0][0]} gap={1}>
          {line.map(([table, n]) => (
            <Text key={table}>
              {table.padEnd(NAME_WIDTH)}
              <Text bold>{String(n).padStart(COUNT_WIDTH)}</Text>
            </Text>
          ))}
        </Box>
      ))}
      <Text dimColor wrap="truncate-end">
        {last
          ? `flush ${progress.flushes}: ${last.rows} rows, ${last.files} files in ${last.durationMs}ms (${last.reason}) at ${last.at.slice(11, 19)}`
          : 'no flush yet'}
      </Text>
      {progress.undecodable > 0 ? (
        <Text color="red" wrap="truncate-end">
          {progress.undecodable} undecodable batch(es) skipped into rejected, last: {progress.lastUndecodable}
        </Text>
      ) : null}
      {progress.warnings.length > 0 ? (
        <Text color="yellow" wrap="truncate-end">
          {progress.warnings.length} warning(s), last: {progress.warnings.at(-1)}
        </Text>
      ) : null}
    </Box>
  )
}
