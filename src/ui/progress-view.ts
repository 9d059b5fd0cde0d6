import type { FunctionComponent } from 'react'
import { changedLines } from './progress-lines.js'

/** Where a long command's progress goes: `update` for each new figure, `done` once at the end. */
export interface ProgressSink<P> {
  update(progress: P): void
  done(): void
}

/** A live view: an ink component drawing `progress` (undefined before the first figure). */
export type ProgressComponent<P> = FunctionComponent<{ progress?: P }>

export interface ProgressViewOptions<P> {
  /**
   * Draw the live view: the command is interactive (STYLE.md: stdout a TTY, TERM not dumb, CI
   * unset, not --json) and stderr, where ink draws, is a terminal too (not `2>run.log`).
   */
  live: boolean
  /** Loads the ink component; only called when `live`, so pipes and CI never load ink or React. */
  view: () => Promise<ProgressComponent<P>>
  /** The plain line for logs, pipes and CI. */
  plainLine: (progress: P) => string
  /** Writes one plain line (the command's stderr). */
  write: (line: string) => void
  /** A plain line is printed when it changed, and the same line again at most this often. */
  heartbeatMs?: number
}

/**
 * The one progress helper of the long commands (`load`, `stream`): ink on stderr when live, else
 * plain append-only lines on stderr, printed only when they change (an idle service does not fill
 * its log; a heartbeat at most once a minute). Colour follows NO_COLOR through FORCE_COLOR, which
 * the base command sets before any view loads ink.
 */
export async function progressView<P>(options: ProgressViewOptions<P>): Promise<ProgressSink<P>> {
  if (!options.live) {
    const changed = changedLines(options.heartbeatMs)
    return {
      update: (p) => {
        const line = changed(options.plainLine(p))
        if (line !== undefined) options.write(line)
      },
      done: () => undefined,
    }
  }
  const [{ render }, React, View] = await Promise.all([import('ink'), import('react'), options.view()])
  const element = (progress?: P) => React.createElement(View, { progress })
  const app = render(element(), { stdout: process.stderr, patchConsole: false })
  return {
    update: (p) => app.rerender(element(p)),
    done: () => app.unmount(),
  }
}
