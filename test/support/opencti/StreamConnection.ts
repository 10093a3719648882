import { randomUUID } from "node:crypto"
import type { IncomingHttpHeaders, ServerResponse } from "node:http"
import type { LiveStream } from "./LiveStream.js"
import type { StreamEvent } from "./streamEvents.js"
import { compareStreamIds, formatStreamId, type StreamId } from "./streamIds.js"

/** What a consumer asked for, as the platform reads it (query parameter first, then header). */
export interface StreamRequest {
  /** Undefined for the raw stream (`/stream`). */
  readonly streamId: string | undefined
  readonly headers: IncomingHttpHeaders
  /** The `Last-Event-ID` header as sent. */
  readonly lastEventId: string | undefined
  /** The start parameter in effect (`from` query, `from` header or `Last-Event-ID`). */
  readonly from: string | undefined
  readonly recover: string | undefined
  readonly listenDelete: string | undefined
  readonly noDependencies: string | undefined
  readonly withInferences: string | undefined
}

/** How one connection behaves. */
export interface ConnectionBehaviour {
  readonly heartbeatIntervalMs: number
  /** End the connection abruptly after this many data events. */
  readonly dropAfterEvents: number | undefined
  /** Send `connected`, then nothing: no events, no heartbeats. */
  readonly silent: boolean
  /** A `retry:` line sent first (the platform never sends one). */
  readonly retryMs: number | undefined
  /** Stream-wide silence, checked before every write. */
  readonly streamSilent: () => boolean
  readonly clock: () => number
}

// Events are written in chunks of about this size: few, large writes keep throughput high.
const CHUNK_CHARS = 256 * 1024

const formatEvent = (event: StreamEvent): string =>
  `id: ${formatStreamId(event.id)}\nevent: ${event.topic}\ndata: ${event.data}\n\n`

const drainedOrClosed = (response: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      response.off("drain", done)
      response.off("close", done)
      resolve()
    }
    response.on("drain", done)
    response.on("close", done)
  })

/** One open `GET /stream/:id` response: the connected event, recovered events, the log, heartbeats. */
export class StreamConnection {
  readonly connectionId = randomUUID()
  readonly openedAt = new Date().toISOString()
  /** Settles once the response is closed, by either side. */
  readonly closed: Promise<void>
  private sent = 0
  private heartbeatCount = 0
  private lastSent: StreamId | undefined
  private isOpen = true
  private position: number
  private wake: (() => void) | undefined
  private markClosed: () => void = () => undefined

  constructor(
    readonly request: StreamRequest,
    private readonly response: ServerResponse,
    private readonly log: LiveStream,
    private readonly behaviour: ConnectionBehaviour,
    /** Where reading starts; undefined means "only events appended from now on". */
    private readonly start: StreamId | undefined,
    private readonly recovered: ReadonlyArray<StreamEvent>
  ) {
    this.position = start === undefined ? log.length : log.indexAfter(start)
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
  }

  /** Data events written so far (recovered ones included). */
  get eventsSent(): number {
    return this.sent
  }

  get heartbeats(): number {
    return this.heartbeatCount
  }

  get lastSentId(): string | undefined {
    return this.lastSent === undefined ? undefined : formatStreamId(this.lastSent)
  }

  get open(): boolean {
    return this.isOpen
  }

  /** Serves the connection until the client or the server closes it. */
  async serve(): Promise<void> {
    const unsubscribe = this.log.subscribe(() => this.wakeUp())
    const timer = setInterval(() => this.heartbeat(), this.behaviour.heartbeatIntervalMs)
    this.response.once("close", () => {
      this.isOpen = false
      clearInterval(timer)
      unsubscribe()
      this.wakeUp()
      this.markClosed()
    })
    this.response.writeHead(200, {
      Connection: "keep-alive",
      "Content-Type": "text/event-stream; charset=utf-8",
      "Access-Control-Allow-Origin": "*",
      "Cache-Control": "no-cache, no-transform"
    })
    const retry = this.behaviour.retryMs === undefined ? "" : `retry: ${this.behaviour.retryMs}\n\n`
    this.response.write(`${retry}event: connected\ndata: ${JSON.stringify(this.connectedPayload())}\n\n`)
    if (this.behaviour.silent) return
    let recovered = 0
    if (!(await this.writeEvents(() => this.recovered[recovered++]))) return
    while (this.open) {
      if (this.behaviour.streamSilent() || this.position >= this.log.length) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        continue
      }
      const end = this.log.length
      if (!(await this.writeEvents(() => (this.position < end ? this.log.at(this.position++) : undefined)))) return
    }
  }

  /** Wakes the serving loop (after an append or a change of the stream's silence). */
  wakeUp(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /**
   * Writes the visible events `next` yields in large chunks, waiting for the socket to drain when it
   * is full, until `next` is exhausted or the stream turns silent. Returns false once the connection
   * is over (closed, or dropped after `dropAfterEvents`).
   */
  private async writeEvents(next: () => StreamEvent | undefined): Promise<boolean> {
    let chunk = ""
    const flush = async (): Promise<void> => {
      if (chunk.length > 0 && this.open && !this.response.write(chunk)) await drainedOrClosed(this.response)
      chunk = ""
    }
    while (this.open && !this.behaviour.streamSilent()) {
      const event = next()
      if (event === undefined) break
      if (!this.visible(event)) continue
      chunk += formatEvent(event)
      this.lastSent = event.id
      this.sent += 1
      if (this.behaviour.dropAfterEvents !== undefined && this.sent >= this.behaviour.dropAfterEvents) {
        // Flushed first, so the client has every counted event before the connection breaks.
        this.response.write(chunk, () => this.response.destroy())
        return false
      }
      if (chunk.length >= CHUNK_CHARS) await flush()
    }
    await flush()
    return this.open
  }

  private visible(event: StreamEvent): boolean {
    if (event.topic === "delete" && this.request.listenDelete === "false") return false
    return !event.inferred || this.request.withInferences === "true"
  }

  /** Heartbeat ids say how far the server has read: the last event sent, or "now" once caught up. */
  private heartbeat(): void {
    if (!this.open || this.behaviour.silent || this.behaviour.streamSilent()) return
    const read = this.lastSent ?? this.start
    const now: StreamId = { ms: this.behaviour.clock(), seq: 0 }
    const caughtUp = this.position >= this.log.length
    const id = read === undefined || (caughtUp && compareStreamIds(now, read) > 0) ? now : read
    this.heartbeatCount += 1
    this.response.write(
      `id: ${formatStreamId(id)}\nevent: heartbeat\ndata: ${JSON.stringify(new Date(id.ms).toISOString())}\n\n`
    )
  }

  private connectedPayload() {
    const first = this.log.first?.id ?? { ms: 0, seq: 0 }
    const last = this.log.last?.id ?? { ms: 0, seq: 0 }
    return {
      lastEventId: formatStreamId(last),
      firstEventId: formatStreamId(first),
      firstEventDate: new Date(first.ms).toISOString(),
      lastEventDate: new Date(last.ms).toISOString(),
      streamSize: this.log.length,
      connectionId: this.connectionId
    }
  }
}
