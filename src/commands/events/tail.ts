import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { brokersFlag, topicFlag } from '../../flags.js'
import { usageError } from '../../lib/errors.js'
import { EVENT_TYPES } from '../../lib/events/catalog.js'
import { createKafka } from '../../lib/kafka/client.js'
import { formatTailLine, tailEvents } from '../../lib/kafka/tail.js'

export default class EventsTail extends BaseCommand {
  static override summary = 'Print game events from Kafka as they arrive.'
  static override description =
    `Follows the events topic and prints one line per event: time, event_type, player (Host) and the event's fields. Uses a throw-away consumer group and commits nothing, so tailing never disturbs \`game stream\`.

With --json, prints NDJSON: one JSON object per line, the event exactly as produced (plus nothing else), as each one arrives; unlike other commands there is no final document. Stops after -n matching events, or on Ctrl-C.`
  static override examples = [
    '<%= config.bin %> events tail',
    '<%= config.bin %> events tail --from-beginning --type purchase_sword -n 10',
    '<%= config.bin %> events tail --host user1.comcast.com --json | jq .amount',
    '<%= config.bin %> events tail --from-beginning --host Oski.Berkeley.edu   # host names match without case',
  ]
  static override flags = {
    brokers: brokersFlag,
    topic: topicFlag,
    'from-beginning': Flags.boolean({ summary: 'Start at the oldest stored event, not the newest.' }),
    type: Flags.string({ summary: 'Only events of this event_type (e.g. purchase_sword).' }),
    host: Flags.string({ summary: 'Only events of this player (the Host header, matched without case).' }),
    number: Flags.integer({ char: 'n', summary: 'Stop after this many matching events.', min: 0 }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(EventsTail)
    const types = EVENT_TYPES.map((t) => t.type)
    if (flags.type !== undefined && !types.includes(flags.type)) {
      throw usageError(
        `--type ${JSON.stringify(flags.type)} is not an event type, so nothing could ever match`,
        `Use one of: ${types.join(', ')}.`,
      )
    }
    const config = this.configFromFlags(flags)
    const json = this.jsonEnabled()
    // `game events tail --json | head -3`: a closed stdout ends the tail quietly.
    const stdoutClosed = new AbortController()
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') stdoutClosed.abort()
    })
    const signal = AbortSignal.any([this.interruptSignal(), stdoutClosed.signal])
    const kafka = createKafka({
      brokers: config.brokers,
      clientId: 'game-tail',
      level: 'error',
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
    })
    const result = await tailEvents({
      kafka,
      brokers: config.brokers,
      topic: config.topic,
      fromBeginning: flags['from-beginning'],
      filter: { type: flags.type, host: flags.host },
      limit: flags.number,
      signal,
      onCaughtUp: (r) => {
        if (r.matched === 0 && (flags.type !== undefined || flags.host !== undefined))
          this.progress(
            `Read all ${r.seen} event(s) in ${config.topic}; none matched ${[
              flags.type !== undefined ? `--type ${flags.type}` : '',
              flags.host !== undefined ? `--host ${flags.host}` : '',
            ]
              .filter(Boolean)
              .join(' ')}. Waiting for new events (Ctrl-C to stop).`,
          )
      },
      onEvent: (t) => {
        if (stdoutClosed.signal.aborted) return
        process.stdout.write(
          `${json ? (t.event ? JSON.stringify(t.event) : JSON.stringify({ raw: t.raw })) : formatTailLine(t)}\n`,
        )
      },
    })
    // Ctrl-C is the normal way to end a tail.
    this.interrupted = false
    if (!json) this.progress(`${result.matched} event(s) shown, ${result.seen} read`)
  }
}
