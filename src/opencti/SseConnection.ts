import { Effect, FiberSet, Pull, Queue, Schema, Stream } from "effect"
import type { Scope } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError, HttpClientResponse } from "effect/http"
import { EventSource } from "eventsource"
import type { ErrorEvent, EventSourceInit, FetchLikeResponse, ReaderLike } from "eventsource"
import { describeTransportFailure } from "./PlatformHttp.js"

/** One server-sent event: its name (`message` when it has none), the last event id, and its data. */
export interface SseEvent {
  readonly event: string
  readonly id: string
  readonly data: string
}

/**
 * Why a connection ended: an answer other than 200 (`status`), no answer (`transport`; `certificate`
 * when the server's certificate was refused, which no retry clears), or the connection closing.
 */
export class SseConnectionError extends Schema.TaggedError<SseConnectionError>()("SseConnectionError", {
  reason: Schema.Literals(["status", "transport", "certificate", "closed"]),
  status: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

const transportFailure = (error: HttpClientError.HttpClientError) => {
  const { message, retryable } = describeTransportFailure(error)
  return new SseConnectionError({ reason: retryable ? "transport" : "certificate", message })
}

/** An EventSource that reports every event it dispatches: listeners alone only hear the names known in advance. */
class ObservedEventSource extends EventSource {
  private readonly observer: (event: Event) => void

  constructor(url: URL, init: EventSourceInit, observer: (event: Event) => void) {
    super(url, init)
    this.observer = observer
  }

  override dispatchEvent(event: Event): boolean {
    this.observer(event)
    return super.dispatchEvent(event)
  }
}

const bytes = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => chunks.length === 1 ? chunks[0] ?? new Uint8Array() : Buffer.concat(chunks)

/**
 * One SSE connection through `client` (so its TLS, proxy and headers apply), parsed by the `eventsource`
 * package, as a stream of events; it never reconnects by itself: the connection failing or ending ends
 * the stream with an SseConnectionError, and the caller decides whether to open another.
 *
 * Back-pressure goes through the stream's own queue: the events parsed from one read of the socket are
 * handed to the queue (waiting while it holds `bufferSize` events) before the socket is read again.
 */
export const connect = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  options: {
    /** Where `request` goes once the client has resolved it (eventsource only keeps it as the events' origin). */
    readonly url: URL
    readonly bufferSize: number
  }
) =>
  Stream.callback<SseEvent, SseConnectionError>((queue) =>
    Effect.gen(function*() {
      // The runtime is captured once: the eventsource callbacks run effects in this scope through it.
      const run = yield* FiberSet.makeRuntimePromise<Scope.Scope>()
      const fork = yield* FiberSet.makeRuntime<Scope.Scope>()
      const scoped = HttpClient.withScope(client)

      // The events parsed from the last read of the socket, not yet handed to the queue.
      let parsed: Array<SseEvent> = []
      const handOver = Effect.suspend(() => {
        const events = parsed
        parsed = []
        return Queue.offerAll(queue, events)
      })
      const end = (error: SseConnectionError) => Effect.andThen(handOver, Queue.fail(queue, error))

      const reader = (response: HttpClientResponse.HttpClientResponse) =>
        Effect.map(Stream.toPull(response.stream), (pull): ReaderLike => ({
          read: () =>
            run(handOver.pipe(
              Effect.andThen(pull),
              Effect.map((chunks) => ({ done: false as const, value: bytes(chunks) })),
              Pull.catchDone(() => Effect.succeed({ done: true as const }))
            )),
          cancel: () => Promise.resolve()
        }))

      const fetchStream = () =>
        run(Effect.gen(function*() {
          const response = yield* scoped.execute(request)
          const body = yield* reader(response)
          return {
            url: options.url.href,
            status: response.status,
            redirected: false,
            headers: { get: (name: string) => response.headers[name.toLowerCase()] ?? null },
            body: { getReader: () => body }
          } satisfies FetchLikeResponse
        }).pipe(
          Effect.tapError((error: HttpClientError.HttpClientError) => end(transportFailure(error)))
        ))

      const source: EventSource = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new ObservedEventSource(options.url, { fetch: fetchStream }, (event) => {
            if (event instanceof MessageEvent) {
              parsed.push({ event: event.type, id: event.lastEventId, data: typeof event.data === "string" ? event.data : "" })
            } else if (event.type === "error") {
              // This bridge reconnects by opening a new connection, never through eventsource's own timer.
              source.close()
              const { code, message } = event as ErrorEvent
              fork(end(
                code === undefined
                  ? new SseConnectionError({ reason: "closed", message: message ?? "the connection was closed" })
                  : new SseConnectionError({ reason: "status", status: code, message: message ?? `HTTP ${code}` })
              ))
            }
          })
        ),
        (source) => Effect.sync(() => source.close())
      )
    }).pipe(Effect.withSpan("LiveStream.connect", { attributes: { url: options.url.href } })), { bufferSize: options.bufferSize, strategy: "suspend" })
