import type { IncomingMessage, ServerResponse } from "node:http"
import { bearerToken, headerValue, optionValue, refuse } from "./http.js"
import type { LiveStream } from "./LiveStream.js"
import { StreamConnection, type StreamRequest } from "./StreamConnection.js"
import { entityType, openCtiExtension, representative, type StreamEvent } from "./streamEvents.js"
import { dateFromParameter, startFromParameter } from "./streamIds.js"

/** How one connection is answered; authenticated connections to an existing stream take plans in order. */
export interface StreamConnectionPlan {
  /** Refuse with this status and an empty body. */
  readonly status?: number
  /** End the connection abruptly after this many data events. */
  readonly dropAfterEvents?: number
  /** Send `connected`, then nothing: no events, no heartbeats. */
  readonly silent?: boolean
}

export interface LiveStreamRouteOptions {
  /** Stream collection ids that exist; others answer 401 as the platform does. */
  readonly ids: ReadonlyArray<string>
  readonly heartbeatIntervalMs: number
  /** Applies to every connection without a plan saying otherwise. */
  readonly dropAfterEvents: number | undefined
  readonly retryMs: number | undefined
  /** Knowledge sent as `init-create` events in recover mode. */
  readonly snapshot: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly clock: () => number
}

const NOT_AUTHENTICATED = "You are not authenticated, please check your credentials"
const NOT_AUTHORIZED = "You are not authorized, please check your credentials"

const updatedAt = (stix: Readonly<Record<string, unknown>>): number => {
  const value = openCtiExtension(stix)?.["updated_at"] ?? stix["modified"]
  return typeof value === "string" ? Date.parse(value) : Number.NaN
}

/** Recover mode: the knowledge updated in (start, recover), oldest first, with the reduced payload. */
const recoveredEvents = (
  snapshot: ReadonlyArray<Readonly<Record<string, unknown>>>,
  startMs: number,
  recoverMs: number
): ReadonlyArray<StreamEvent> =>
  snapshot
    .map((stix) => ({ stix, ms: updatedAt(stix) }))
    .filter(({ ms }) => ms > startMs && ms < recoverMs)
    .sort((a, b) => a.ms - b.ms)
    .map(({ ms, stix }) => ({
      id: { ms, seq: 0 },
      topic: "create",
      data: JSON.stringify({
        data: stix,
        message: `creates a ${entityType(stix)} \`${representative(stix)}\``,
        origin: { referer: "init-create" },
        version: "4"
      }),
      inferred: openCtiExtension(stix)?.["is_inferred"] === true
    }))

/** `GET /stream/:id`: the platform's live stream over a scripted log. */
export class LiveStreamRoute {
  readonly connections: Array<StreamConnection> = []
  private readonly plans: Array<StreamConnectionPlan> = []
  private readonly stopped = new Set<string>()
  private silent = false

  constructor(
    private readonly log: LiveStream,
    private readonly token: string,
    private readonly options: LiveStreamRouteOptions
  ) {}

  /** Scripts the next connections, one plan each, in order. */
  planConnections(...plans: ReadonlyArray<StreamConnectionPlan>): void {
    this.plans.push(...plans)
  }

  /** Stops or restarts a collection; a stopped one answers 410. */
  setStopped(streamId: string, stopped: boolean): void {
    if (stopped) this.stopped.add(streamId)
    else this.stopped.delete(streamId)
  }

  /** Silences every connection (no events, no heartbeats) until called with false. */
  setSilent(silent: boolean): void {
    this.silent = silent
    for (const connection of this.connections) connection.wakeUp()
  }

  /** `GET /stream/:id`, or the raw stream `GET /stream` (streamId undefined), which the token's user (BYPASS) may read. */
  async handle(request: IncomingMessage, response: ServerResponse, streamId: string | undefined, query: URLSearchParams) {
    if (bearerToken(request) !== this.token) return refuse(response, 401, NOT_AUTHENTICATED)
    if (streamId !== undefined && !this.options.ids.includes(streamId)) return refuse(response, 401, NOT_AUTHORIZED)
    if (streamId !== undefined && this.stopped.has(streamId)) return refuse(response, 410, "This live stream is stopped")
    const plan = this.plans.shift() ?? {}
    if (plan.status !== undefined) return refuse(response, plan.status, `Error in stream ${streamId ?? "raw"}`)

    const lastEventId = headerValue(request, "last-event-id")
    const streamRequest: StreamRequest = {
      streamId,
      headers: request.headers,
      lastEventId,
      from: optionValue(request, query, ["from"]) ?? lastEventId,
      recover: optionValue(request, query, ["recover", "recover-date"]),
      listenDelete: optionValue(request, query, ["listen-delete"]),
      noDependencies: optionValue(request, query, ["no-dependencies", "no-relationships"]),
      withInferences: optionValue(request, query, ["with-inferences"])
    }
    let start = startFromParameter(streamRequest.from)
    let recovered: ReadonlyArray<StreamEvent> = []
    if (streamRequest.recover !== undefined) {
      if (start === undefined) {
        return refuse(response, 500, `Error in stream ${streamId}: Recovery mode is only possible with a start date.`)
      }
      const recoverMs = dateFromParameter(streamRequest.recover)
      if (recoverMs !== undefined && recoverMs > start.ms) {
        recovered = recoveredEvents(this.options.snapshot, start.ms, recoverMs)
        start = { ms: recoverMs, seq: 0 }
      }
    }
    const connection = new StreamConnection(streamRequest, response, this.log, {
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      dropAfterEvents: plan.dropAfterEvents ?? this.options.dropAfterEvents,
      silent: plan.silent ?? false,
      retryMs: this.options.retryMs,
      streamSilent: () => this.silent,
      clock: this.options.clock
    }, start, recovered)
    this.connections.push(connection)
    await connection.serve()
  }
}
