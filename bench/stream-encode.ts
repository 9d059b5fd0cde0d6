// bench/stream-encode.ts — `npx tsx bench/stream-encode.ts [--events 200000]`
// The stream's encoder alone (no Kafka, no DuckDB): µs per event for a valid `game api` event and
// for each kind of rejected event, best of 3 passes, and each one's cost relative to the valid one
// measured in the same run. Lines are written into a buffer as the stream's RowBuffer would.
import { buildEvent } from '../src/lib/events/envelope.js'
import { MessageEncoder } from '../src/lib/stream/encode.js'

const i = process.argv.indexOf('--events')
const n = i === -1 ? 200_000 : Number(process.argv[i + 1])
const t0 = Date.now()
const api = (k: number, type: string, fields: Record<string, string | number>) =>
  buildEvent({
    type,
    fields,
    headers: { Host: `user${k % 1000}.comcast.com`, 'User-Agent': 'ApacheBench/2.3', Accept: '*/*' },
    eventId: `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`,
    receivedAt: new Date(t0 + k),
  }) as Record<string, unknown>
const kinds: Record<string, (k: number) => string> = {
  valid: (k) => JSON.stringify(api(k, 'purchase_sword', { amount: -10, description: 'sharp' })),
  'unknown type': (k) => JSON.stringify(api(k, 'purchase_dragon', { amount: -10, description: 'big' })),
  'amount <= 0': (k) => JSON.stringify(api(k, 'add_money', { amount: -5, description: 'money' })),
  'amount not int': (k) => JSON.stringify(api(k, 'purchase_sword', { amount: 'ten', description: 'sharp' })),
  'no event_type': (k) => {
    const { event_type: _, ...rest } = api(k, 'mensaje', { message_post: 'hola mundo' })
    return JSON.stringify(rest)
  },
  'not JSON': (k) => `GET /purchase_a_sword?user=${k} HTTP/1.1 Host: user${k % 1000}.comcast.com junk`,
  'not an object': (k) => JSON.stringify([api(k, 'mensaje', { message_post: 'in an array' })]),
}
const out = Buffer.alloc(1 << 20)
const results: Record<string, { microsPerEvent: number; vsValid: number }> = {}
let valid = 0
for (const [name, make] of Object.entries(kinds)) {
  const values = Array.from({ length: n }, (_, k) => Buffer.from(make(k)))
  const enc = new MessageEncoder()
  const meta = { topic: 'game_events', partition: 0, offset: '', timestamp: t0 }
  let best = Number.POSITIVE_INFINITY
  for (let pass = 0; pass < 3; pass++) {
    const t = performance.now()
    let pos = 0
    for (let k = 0; k < values.length; k++) {
      meta.offset = ''
      const e = enc.encode(values[k], meta, k, 0, values[k].length)
      if (pos > out.length - 70_000) pos = 0
      pos = e.bytes ? e.bytes.write(out, pos) : pos + out.write(e.line, pos)
    }
    best = Math.min(best, performance.now() - t)
  }
  const micros = (best * 1000) / n
  if (name === 'valid') valid = micros
  results[name] = { microsPerEvent: +micros.toFixed(2), vsValid: +(micros / valid).toFixed(2) }
}
process.stdout.write(`${JSON.stringify({ events: n, results }, null, 2)}\n`)
