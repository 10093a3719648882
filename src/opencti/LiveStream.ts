import { Array as Arr, Cause, Context, Duration, Effect, Filter, Layer, Option, Queue, Redacted, Result, Schema, Stream } from "effect"
import { EventSource } from "eventsource"
import type { ErrorEvent, FetchLike, FetchLikeResponse } from "eventsource"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import type { OpenCtiConfigShape } from "../config/OpenCtiConfig.js"
import { IdTrail, LiveStreamId } from "./LiveStreamId.js"

/** One data event of a live stream, as received: its `data` is untrusted JSON text. */
export interface LiveEvent {
  /** The event id `<ms>-<seq>`. */
  readonly id: string
  /** The SSE event name (`create`, `update`, `delete`, `merge`), which can differ from `data.type`. */
  readonly event: string
  readonly data: string
}

/** Where a connection starts: after `startFrom`, in recover mode up to `recoverUntil` when set. */
export interface LivePosition {
  readonly startFrom: string
  readonly recoverUntil: Option.Option<string>
}

export interface LiveStreamOptions {
  readonly streamId: string
  readonly listenDelete: boolean
  readonly noDependencies: boolean
  readonly withInferences: boolean
  /** Longest silence (no event, no heartbeat) tolerated while someone waits for an event. */
  readonly watchdog: Duration.Duration
  /** Events held between the connection and the consumer; a full buffer stops reading the socket. */
  readonly bufferSize: number
}

const liveStreamReasons = ["unauthorized", "stopped", "refused", "watchdog", "protocol"] as const

/** Why a live stream stopped: refused (401, 410, other status), silent past the watchdog, or speaking nonsense. */
export class LiveStreamError extends Schema.TaggedError<LiveStreamError>()("LiveStreamError", {
  streamId: Schema.String,
  reason: Schema.Literals(liveStreamReasons),
  status: Schema.optional(Schema.Number),
  eventId: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** The live streams of the platform (`GET /stream/:id`) as Effect streams of data events. */
export class LiveStream extends Context.Service<LiveStream, {
  readonly open: (position: LivePosition) => Stream.Stream<LiveEvent, LiveStreamError>
}>()("opencti-connectors/opencti/LiveStream") {
  static readonly layer = (options: LiveStreamOptions) =>
    Layer.effect(LiveStream, Effect.map(OpenCtiConfig, (config) => LiveStream.of({ open: (position) => open(config, options, position) })))
}

type Message =
  | { readonly _tag: "Connected" }
  | { readonly _tag: "Heartbeat" }
  | { readonly _tag: "Event"; readonly event: LiveEvent }
  | { readonly _tag: "Reconnecting"; readonly message: string }

const dataEvents = ["create", "update", "delete", "merge"] as const
const isLiveStreamId = Schema.is(LiveStreamId)

const refusal = (streamId: string, event: ErrorEvent): LiveStreamError => {
  const status = event.code
  if (status === undefined) {
    return new LiveStreamError({ streamId, reason: "protocol", message: `live stream ${streamId}: ${event.message ?? "the connection failed"}` })
  }
  const [reason, explanation] = status === 401
    ? ["unauthorized", "the stream does not exist or the token's user may not read it"] as const
    : status === 410
    ? ["stopped", "the stream is stopped on the platform"] as const
    : ["refused", `the platform refused the connection${event.message === undefined ? "" : ` (${event.message})`}`] as const
  return new LiveStreamError({ streamId, reason, status, message: `live stream ${streamId}: HTTP ${status}, ${explanation}` })
}

/** A response whose body is read only after `beforeRead` resolves: the socket waits for the consumer. */
const paced = (response: Response, beforeRead: () => Promise<void>): FetchLikeResponse => {
  const body = response.body
  return {
    url: response.url,
    status: response.status,
    redirected: response.redirected,
    headers: response.headers,
    body: body === null ? null : {
      getReader: () => {
        const reader = body.getReader()
        return { read: () => beforeRead().then(() => reader.read()), cancel: () => reader.cancel() }
      }
    }
  }
}

const open = (config: OpenCtiConfigShape, options: LiveStreamOptions, position: LivePosition): Stream.Stream<LiveEvent, LiveStreamError> => {
  const { streamId } = options
  const url = new URL(`${config.url}/stream/${encodeURIComponent(streamId)}`)
  if (Option.isSome(position.recoverUntil)) url.searchParams.set("recover", position.recoverUntil.value)
  const headers = {
    authorization: `Bearer ${Redacted.value(config.token)}`,
    "listen-delete": String(options.listenDelete),
    "no-dependencies": String(options.noDependencies),
    "with-inferences": String(options.withInferences),
    "Cache-Control": "no-cache"
  }

  const messages = Stream.callback<Message, LiveStreamError>((queue) =>
    Effect.gen(function*() {
      // A reconnect resumes before the last run of equal ids, so that a group of events sharing an id
      // is received whole.
      const received = new IdTrail()
      // The data of the latest group: what a reconnect sends again of it is dropped, not delivered twice.
      let group: { readonly id: string; readonly data: Set<string> } = { id: position.startFrom, data: new Set() }
      const isRepeat = (id: string, data: string): boolean => {
        if (id !== group.id) {
          group = { id, data: new Set([data]) }
          return false
        }
        if (group.data.has(data)) return true
        group.data.add(data)
        return false
      }
      // Events the full queue did not take; the next socket read waits until the queue takes them.
      let pending: Array<Message> = []
      const emit = (message: Message) => {
        if (pending.length > 0 || !Queue.offerUnsafe(queue, message)) pending.push(message)
      }
      const drain = async () => {
        if (pending.length === 0) return
        const batch = pending
        pending = []
        await Effect.runPromise(Queue.offerAll(queue, batch))
      }
      const fail = (error: LiveStreamError) => void Queue.failCauseUnsafe(queue, Cause.fail(error))

      // Last-Event-ID comes from here on every connection, the first one included (after a restart).
      const fetchStream: FetchLike = (input, init) =>
        fetch(input, { ...init, headers: { ...init.headers, ...headers, "Last-Event-ID": received.resumePoint({ resumePoint: position.startFrom }) } })
          .then((response) => paced(response, drain))

      const source = yield* Effect.acquireRelease(
        Effect.sync(() => new EventSource(url, { fetch: fetchStream })),
        (source) => Effect.sync(() => source.close())
      )
      source.addEventListener("connected", () => emit({ _tag: "Connected" }))
      source.addEventListener("heartbeat", (event: MessageEvent) => {
        if (isLiveStreamId(event.lastEventId)) received.add(event.lastEventId)
        emit({ _tag: "Heartbeat" })
      })
      for (const name of dataEvents) {
        source.addEventListener(name, (event: MessageEvent) => {
          const id = event.lastEventId
          if (!isLiveStreamId(id) || typeof event.data !== "string") {
            return fail(new LiveStreamError({ streamId, reason: "protocol", eventId: id, message: `live stream ${streamId}: a ${name} event without a valid id` }))
          }
          received.add(id)
          emit(isRepeat(id, event.data) ? { _tag: "Heartbeat" } : { _tag: "Event", event: { id, event: name, data: event.data } })
        })
      }
      source.addEventListener("error", (event: ErrorEvent) => {
        if (source.readyState === source.CLOSED) fail(refusal(streamId, event))
        else emit({ _tag: "Reconnecting", message: event.message ?? "the connection was closed" })
      })
    }), { bufferSize: options.bufferSize, strategy: "suspend" })

  const watchdogFired = () =>
    Stream.fail(new LiveStreamError({
      streamId,
      reason: "watchdog",
      message: `live stream ${streamId}: nothing received for ${Duration.format(options.watchdog)}, not even a heartbeat`
    }))

  const logReconnects = (messages: Arr.NonEmptyReadonlyArray<Message>) =>
    Effect.as(
      Effect.forEach(messages, (message) =>
        message._tag === "Reconnecting"
          ? Effect.logWarning("Live stream connection lost, reconnecting").pipe(Effect.annotateLogs({ stream: streamId, reason: message.message }))
          : Effect.void, { discard: true }),
      messages
    )

  return messages.pipe(
    // Chunk by chunk: a chunk without a reconnect costs no effect per event.
    Stream.mapArrayEffect((chunk) => chunk.some((message) => message._tag === "Reconnecting") ? logReconnects(chunk) : Effect.succeed(chunk)),
    // A reconnect attempt is not a sign of life: only what the platform sends feeds the watchdog.
    Stream.filter((message) => message._tag !== "Reconnecting"),
    Stream.timeoutOrElse({ duration: options.watchdog, orElse: watchdogFired }),
    Stream.filterMap(Filter.make((message: Message) => message._tag === "Event" ? Result.succeed(message.event) : Result.fail(message)))
  )
}
