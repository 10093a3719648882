import { Context, Duration, Effect, Layer, Option, Schedule, Schema, Stream } from "effect"
import { HttpClientRequest } from "effect/http"
import type { HttpClient } from "effect/http"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { IdTrail, isLiveStreamId } from "./LiveStreamId.js"
import { platformClient } from "./PlatformHttp.js"
import * as SseConnection from "./SseConnection.js"
import type { SseConnectionError, SseEvent } from "./SseConnection.js"

/** One data event of a live stream, as received: its `data` is untrusted JSON text. */
export interface LiveEvent {
  /** The event id `<ms>-<seq>`. */
  readonly id: string
  /** The SSE event name (`create`, `update`, `delete`, `merge`, or any other the platform sends), which can differ from `data.type`. */
  readonly event: string
  readonly data: string
}

/** Where a connection starts: after `startFrom`, in recover mode up to `recoverUntil` when set. */
export interface LivePosition {
  readonly startFrom: string
  readonly recoverUntil: Option.Option<string>
}

export interface LiveStreamOptions {
  /** The live stream collection (`/stream/<id>`); none for the raw stream (`/stream`). */
  readonly streamId: Option.Option<string>
  readonly listenDelete: boolean
  readonly noDependencies: boolean
  readonly withInferences: boolean
  /** Longest silence (no event, no heartbeat) tolerated on a connection. */
  readonly watchdog: Duration.Duration
  /** Events held between the connection and the consumer; a full buffer stops reading the socket. */
  readonly bufferSize: number
}

const liveStreamReasons = ["unauthorized", "missing", "stopped", "unavailable", "certificate", "watchdog", "protocol"] as const

/**
 * Why a live stream stopped: refused for good (401, 404, 410, a refused certificate), unreachable for
 * longer than the reconnections last, silent past the watchdog, or speaking nonsense.
 */
export class LiveStreamError extends Schema.TaggedError<LiveStreamError>()("LiveStreamError", {
  /** None for the raw stream. */
  streamId: Schema.optional(Schema.String),
  reason: Schema.Literals(liveStreamReasons),
  status: Schema.optional(Schema.Number),
  eventId: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** The live streams of the platform (`GET /stream/:id`, or the raw `GET /stream`) as Effect streams of data events. */
export class LiveStream extends Context.Service<LiveStream, {
  readonly open: (position: LivePosition) => Stream.Stream<LiveEvent, LiveStreamError>
}>()("opencti-connectors/opencti/LiveStream") {
  static readonly layer = (options: LiveStreamOptions) =>
    Layer.effect(
      LiveStream,
      Effect.gen(function*() {
        const config = yield* OpenCtiConfig
        const client = yield* platformClient(config)
        if (Option.isNone(options.streamId)) {
          yield* Effect.logInfo("CONNECTOR_LIVE_STREAM_ID is not set: reading the raw stream, which needs a user with the BYPASS capability")
        }
        return LiveStream.of({ open: (position) => open(client, config.url, options, position) })
      })
    )
}

/** What a received event is: a data event, a sign of life (`connected`, a heartbeat, a repeat), or a protocol error. */
type Message = LiveEvent | SignOfLife | LiveStreamError

interface SignOfLife {
  readonly _tag: "SignOfLife"
}

const signOfLife: SignOfLife = { _tag: "SignOfLife" }

const isDataEvent = (message: Message): message is LiveEvent => message !== signOfLife && !(message instanceof LiveStreamError)

/** A connection that failed or ended is opened again after 0.5 s, doubling up to 30 s, 15 times in a row at most. */
const reconnections = Schedule.min([Schedule.exponential("500 millis"), Schedule.spaced("30 seconds")]).pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 15 })
)

type Reason = typeof liveStreamReasons[number]

/** The error of a live stream, named as its messages name it (`live stream <id>` or `raw stream`). */
const errorsOf = (streamId: string | undefined) => {
  const name = streamId === undefined ? "raw stream" : `live stream ${streamId}`
  return {
    name,
    make: (reason: Reason, message: string, details: { readonly status?: number; readonly eventId?: string } = {}) =>
      new LiveStreamError({ ...(streamId === undefined ? {} : { streamId }), reason, ...details, message: `${name}: ${message}` })
  }
}

/** Only 401, 404, 410 and a refused certificate end the stream for good; anything else is worth a reconnection. */
const endOf = (make: ReturnType<typeof errorsOf>["make"], failure: SseConnectionError): LiveStreamError => {
  if (failure.reason === "certificate") return make("certificate", failure.message)
  const status = failure.status === undefined ? {} : { status: failure.status }
  switch (failure.status) {
    case 401:
      return make("unauthorized", "HTTP 401, the stream does not exist or the token's user may not read it", status)
    case 404:
      return make("missing", "HTTP 404, the platform has no such stream: check OPENCTI_URL and CONNECTOR_LIVE_STREAM_ID", status)
    case 410:
      return make("stopped", "HTTP 410, the stream is stopped on the platform", status)
    default:
      return make("unavailable", failure.message, status)
  }
}

/**
 * The data of the events of the latest group of equal ids. Most groups hold one event: its data is
 * compared as it is, and a set (which hashes each data whole) is made only for the others of a group.
 */
class LatestGroup {
  #id: string
  #first: string | undefined = undefined
  #others: Set<string> | undefined = undefined

  constructor(id: string) {
    this.#id = id
  }

  /** Whether this event was received already in the latest group; it is remembered otherwise. */
  repeats(id: string, data: string): boolean {
    if (id !== this.#id) {
      this.#id = id
      this.#first = data
      this.#others = undefined
      return false
    }
    if (data === this.#first) return true
    this.#others ??= new Set()
    if (this.#others.has(data)) return true
    this.#others.add(data)
    return false
  }
}

const open = (client: HttpClient.HttpClient, baseUrl: string, options: LiveStreamOptions, position: LivePosition): Stream.Stream<LiveEvent, LiveStreamError> => {
  const streamId = Option.getOrUndefined(options.streamId)
  const { name, make } = errorsOf(streamId)
  const path = streamId === undefined ? "/stream" : `/stream/${encodeURIComponent(streamId)}`
  const request = HttpClientRequest.get(path, {
    urlParams: Option.match(position.recoverUntil, { onNone: () => ({}), onSome: (recover) => ({ recover }) }),
    headers: {
      accept: "text/event-stream",
      "listen-delete": String(options.listenDelete),
      "no-dependencies": String(options.noDependencies),
      "with-inferences": String(options.withInferences),
      "cache-control": "no-cache"
    }
  })
  const url = new URL(`${baseUrl}${path}`)

  return Stream.unwrap(Effect.sync(() => {
    // A reconnection resumes before the last run of equal ids, so that a group of events sharing an id
    // is received whole.
    const received = new IdTrail()
    // The data of the latest group: what a reconnection sends again of it is dropped, not delivered twice.
    const group = new LatestGroup(position.startFrom)

    // A data event goes on as it was received: an SseEvent is a LiveEvent once its id is checked.
    const interpret = (event: SseEvent): Message => {
      if (event.event === "connected") return signOfLife
      if (event.event === "heartbeat") {
        if (isLiveStreamId(event.id)) received.add(event.id)
        return signOfLife
      }
      if (!isLiveStreamId(event.id)) return make("protocol", `a ${event.event} event without a valid id`, { eventId: event.id })
      received.add(event.id)
      return group.repeats(event.id, event.data) ? signOfLife : event
    }

    // Last-Event-ID is set on every connection, the first one included (after a restart).
    const connection = Stream.suspend(() =>
      SseConnection.connect(client, HttpClientRequest.setHeader(request, "last-event-id", received.resumePoint({ resumePoint: position.startFrom })), {
        url,
        bufferSize: options.bufferSize
      })
    ).pipe(
      Stream.mapError((failure) => endOf(make, failure)),
      Stream.map(interpret),
      // Chunk by chunk: one effect per chunk, not per event.
      Stream.mapArrayEffect((messages) => {
        const invalid = messages.find((message) => message instanceof LiveStreamError)
        return invalid === undefined ? Effect.succeed(messages) : Effect.fail(invalid)
      }),
      Stream.timeoutOrElse({
        duration: options.watchdog,
        orElse: () => Stream.fail(make("watchdog", `nothing received for ${Duration.format(options.watchdog)}, not even a heartbeat`))
      })
    )

    return connection.pipe(
      Stream.retry(reconnections.pipe(
        Schedule.while(({ input }: { readonly input: LiveStreamError }) => input.reason === "unavailable"),
        // Logged only when a reconnection follows: the last failure ends the stream and is logged there.
        Schedule.tap(({ input, attempt }) =>
          Effect.logWarning("Live stream connection lost, reconnecting").pipe(Effect.annotateLogs({ stream: name, reason: input.message, attempt }))
        )
      )),
      Stream.filter(isDataEvent)
    )
  })).pipe(Stream.withSpan("LiveStream.open", { attributes: { stream: name } }))
}
