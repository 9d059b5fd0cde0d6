import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { ResponseParser } from './http1.js'
import type { LedgerEntry } from './ledger.js'

/**
 * The open model of `game load --rate R`: request i of a phase is due at t0 + i/R, whatever happened to
 * the earlier ones (players do not wait for the server before they click). A due request goes out on
 * an idle keep-alive connection; when every connection is busy another is opened, up to
 * maxConnections; past that, requests wait in a FIFO queue. Latency is measured from the due time
 * (corrected for coordinated omission, as wrk2 does), service time from the write. A request written
 * more than lateAfterMs after its due time is counted as late (and still sent and measured).
 *
 * Raw sockets and our own response parser (http1.ts) rather than node:http: the request bytes are
 * prebuilt per distinct request, and node:http's client costs about twice the CPU per request here
 * (bench/load.ts).
 */
export interface OpenLoopOptions {
  host: string
  port: number
  /** Requests per second. */
  rate: number
  /** Connections opened before the first request is due. */
  initialConnections: number
  /** Never more connections than this; past it requests queue. */
  maxConnections: number
  timeoutMs: number
  /** A request written more than this many ms after its due time is late. */
  lateAfterMs: number
}

/** One request of a phase, as the runner hands it out. */
export interface OpenRequest {
  bytes: Buffer
  entry: LedgerEntry
  /** Its `amount` (0 when none). */
  amount: number
}

export interface OpenHooks {
  /** The phase's next request; undefined when it has no more. */
  next(): OpenRequest | undefined
  /** A complete response: status, latency from the due time and from the write, ms. */
  answer(request: OpenRequest, status: number, correctedMs: number, serviceMs: number): void
}

/** What the loop counted over the whole run. */
export interface OpenCounters {
  /** Written more than lateAfterMs after their due time. */
  late: number
  timeouts: number
  /** Requests lost with their connection (reset, refused, malformed response). */
  connectionErrors: number
  /** Still queued or in flight when -d ran out or the run was stopped: neither answered nor errors. */
  interrupted: number
  /** Of those, the ones never written (they do not count as sent). */
  interruptedUnsent: number
  connectionsOpened: number
  peakConnections: number
  /** The longest the queue of due requests waiting for a connection got. */
  peakQueue: number
}

interface Ticket extends OpenRequest {
  due: number
  sentAt: number
}

interface Conn {
  socket: net.Socket
  parser: ResponseParser
  ticket: Ticket | null
  connected: boolean
  /** Closed on purpose (timeout, interrupt, end of run): the close is not a connection error. */
  dropped: boolean
}

export function newOpenCounters(): OpenCounters {
  return {
    late: 0,
    timeouts: 0,
    connectionErrors: 0,
    interrupted: 0,
    interruptedUnsent: 0,
    connectionsOpened: 0,
    peakConnections: 0,
    peakQueue: 0,
  }
}

export class OpenLoop {
  private readonly conns = new Set<Conn>()
  private idle: Conn[] = []
  private connecting = 0
  private queue: (Ticket | undefined)[] = []
  private qHead = 0
  private inFlight = 0
  private hooks: OpenHooks | null = null
  /** Called when something happened that may end the phase (an answer, a failure). */
  private poke: () => void = () => {}
  private readonly sweep: NodeJS.Timeout

  constructor(
    private readonly options: OpenLoopOptions,
    readonly counters: OpenCounters = newOpenCounters(),
  ) {
    // Timeouts: one sweep over the busy connections every 100 ms, not a timer per request.
    this.sweep = setInterval(() => this.expire(), 100)
    this.sweep.unref()
  }

  /** Opens the initial connections and resolves when each has connected or failed. */
  async warm(): Promise<void> {
    const n = Math.min(this.options.initialConnections, this.options.maxConnections)
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve) => {
            const c = this.open()
            c.socket.once('connect', () => resolve())
            c.socket.once('close', () => resolve())
          }),
      ),
    )
  }

  /**
   * Runs one phase on its own schedule (t0 = now): ends when every request was answered (or failed),
   * or at durationMs, or on abort; what is still queued or in flight then is interrupted.
   */
  runPhase(hooks: OpenHooks, durationMs: number | undefined, signal?: AbortSignal): Promise<void> {
    this.hooks = hooks
    const interval = 1000 / this.options.rate
    const t0 = performance.now()
    const endAt = durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + durationMs
    let i = 0
    let exhausted = false
    let timer: NodeJS.Timeout | undefined
    return new Promise<void>((resolve) => {
      let finished = false
      const finish = (interrupt: boolean) => {
        if (finished) return
        finished = true
        if (timer) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.poke = () => {}
        if (interrupt) this.interruptAll()
        resolve()
      }
      const onAbort = () => finish(true)
      this.poke = () => {
        if (exhausted && this.qHead === this.queue.length && this.inFlight === 0) finish(false)
      }
      const tick = () => {
        timer = undefined
        const now = performance.now()
        if (signal?.aborted) return finish(true)
        // Every request due by now is queued first, even when the timer fired after the end of -d
        // (a busy machine): one due before the end is then interrupted, never silently skipped.
        while (!exhausted) {
          const due = t0 + i * interval
          if (due >= endAt) {
            exhausted = true
            break
          }
          if (due > now) break
          const r = hooks.next()
          if (!r) {
            exhausted = true
            break
          }
          i++
          const t = r as Ticket
          t.due = due
          t.sentAt = 0
          this.queue.push(t)
        }
        if (now >= endAt) return finish(true)
        this.pump()
        if (exhausted) {
          this.poke()
          if (!finished && endAt !== Number.POSITIVE_INFINITY)
            timer = setTimeout(tick, Math.max(0, endAt - performance.now()))
          return
        }
        const wait = Math.min(t0 + i * interval, endAt) - performance.now()
        timer = setTimeout(tick, Math.max(0, wait))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      tick()
    })
  }

  /** Closes every connection. */
  close(): void {
    clearInterval(this.sweep)
    for (const c of this.conns) this.drop(c)
  }

  private open(): Conn {
    const socket = net.connect({ host: this.options.host, port: this.options.port })
    socket.setNoDelay(true)
    const c: Conn = {
      socket,
      parser: new ResponseParser((status, keepAlive) => this.answered(c, status, keepAlive)),
      ticket: null,
      connected: false,
      dropped: false,
    }
    this.conns.add(c)
    this.connecting++
    this.counters.connectionsOpened++
    if (this.conns.size > this.counters.peakConnections) this.counters.peakConnections = this.conns.size
    socket.on('connect', () => {
      this.connecting--
      c.connected = true
      this.release(c)
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        c.parser.execute(chunk)
      } catch {
        // a malformed answer: the request in flight is lost with the connection
        socket.destroy()
      }
    })
    socket.on('end', () => c.parser.end())
    socket.on('error', () => {})
    socket.on('close', () => this.closed(c))
    return c
  }

  /** A connection is free: it takes the oldest queued request, or waits. */
  private release(c: Conn): void {
    const t = this.dequeue()
    if (t) this.send(c, t)
    else this.idle.push(c)
  }

  private dequeue(): Ticket | undefined {
    if (this.qHead === this.queue.length) return undefined
    const t = this.queue[this.qHead]
    this.queue[this.qHead++] = undefined
    if (this.qHead === this.queue.length) {
      this.queue = []
      this.qHead = 0
    } else if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead)
      this.qHead = 0
    }
    return t
  }

  private pump(): void {
    while (this.qHead < this.queue.length) {
      const c = this.idle.pop()
      if (!c) break
      this.send(c, this.dequeue()!)
    }
    const waiting = this.queue.length - this.qHead
    if (waiting > this.counters.peakQueue) this.counters.peakQueue = waiting
    while (waiting > this.connecting && this.conns.size < this.options.maxConnections) this.open()
  }

  private send(c: Conn, t: Ticket): void {
    const now = performance.now()
    t.sentAt = now
    if (now - t.due > this.options.lateAfterMs) this.counters.late++
    t.entry.sent++
    t.entry.sentAmount += t.amount
    c.ticket = t
    this.inFlight++
    c.socket.write(t.bytes)
  }

  private answered(c: Conn, status: number, keepAlive: boolean): void {
    const t = c.ticket
    if (!t) {
      // an answer nobody asked for: drop the connection
      this.drop(c)
      return
    }
    const now = performance.now()
    c.ticket = null
    this.inFlight--
    this.hooks?.answer(t, status, now - t.due, now - t.sentAt)
    if (keepAlive) this.release(c)
    else this.drop(c)
    this.pump()
    this.poke()
  }

  private closed(c: Conn): void {
    if (!this.conns.delete(c)) return
    if (!c.connected) {
      this.connecting--
      // Could not connect: the oldest due request fails with it (else a refusing server means an
      // endless reconnect loop). It counts as sent, unanswered, a connection error.
      if (!c.dropped) {
        const t = this.dequeue()
        if (t) {
          t.entry.sent++
          t.entry.sentAmount += t.amount
          this.counters.connectionErrors++
        }
      }
    } else {
      const i = this.idle.indexOf(c)
      if (i >= 0) this.idle.splice(i, 1)
    }
    if (c.ticket) {
      this.inFlight--
      if (!c.dropped) this.counters.connectionErrors++
      c.ticket = null
    }
    this.pump()
    this.poke()
  }

  /** Closes a connection on purpose. */
  private drop(c: Conn): void {
    c.dropped = true
    c.socket.destroy()
  }

  private expire(): void {
    const now = performance.now()
    const limit = this.options.timeoutMs
    for (const c of this.conns) {
      if (c.ticket && !c.dropped && now - c.ticket.sentAt > limit) {
        this.counters.timeouts++
        this.drop(c)
      }
    }
  }

  private interruptAll(): void {
    for (let t = this.dequeue(); t; t = this.dequeue()) {
      this.counters.interrupted++
      this.counters.interruptedUnsent++
    }
    for (const c of this.conns) {
      if (c.ticket) {
        this.counters.interrupted++
        this.drop(c)
      }
    }
  }
}
