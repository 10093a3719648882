import { Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { type BatchingLimits, batchingProtection, PLATFORM_BATCHING_LIMITS } from "./opencti/batchingProtection.js"
import type { BundlePushes } from "./opencti/BundlePushes.js"
import type { Connectors } from "./opencti/Connectors.js"
import { type GraphqlCall, GraphqlRoute } from "./opencti/graphqlRoute.js"
import { sendText } from "./opencti/http.js"
import type { Knowledge } from "./opencti/Knowledge.js"
import { LiveStream } from "./opencti/LiveStream.js"
import { LiveStreamRoute, type StreamConnectionPlan } from "./opencti/liveStreamRoute.js"
import { makePlatform, type PlatformOptions } from "./opencti/Platform.js"
import { connectorSchema } from "./opencti/schema.js"
import { type FileDownload, StorageRoute } from "./opencti/storageRoute.js"
import type { StreamConnection } from "./opencti/StreamConnection.js"
import type { EventLog, StreamEvent, StreamEventInput } from "./opencti/streamEvents.js"
import type { Works } from "./opencti/Works.js"

export interface OpenCtiStandInOptions extends PlatformOptions {
  /** The API token accepted as `Authorization: Bearer <token>`. */
  readonly token: string
  /** Default 0: a free port of 127.0.0.1. */
  readonly port?: number
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string }
  /**
   * The platform's alias batching protection: how often one root field may appear in a document.
   * Default as the platform: 2 per query field, 1 per mutation field. `false` turns it off.
   */
  readonly batchingProtection?: BatchingLimits | false
  /** Milliseconds since the epoch for allocated event ids and heartbeats (default `Date.now`). */
  readonly clock?: () => number
  readonly stream?: {
    /** Existing stream collection ids (default `["live"]`). */
    readonly ids?: ReadonlyArray<string>
    /** Default 5 000 ms, as the platform. */
    readonly heartbeatIntervalMs?: number
    /** The events on the stream at start (e.g. `syntheticEvents(100_000)`). */
    readonly events?: EventLog | ReadonlyArray<StreamEventInput>
    /** Knowledge sent as `init-create` events to consumers in recover mode. */
    readonly snapshot?: ReadonlyArray<Readonly<Record<string, unknown>>>
    /** Every connection ends abruptly after this many data events (unless a plan says otherwise). */
    readonly dropAfterEvents?: number
    /** Sends `retry: <ms>` on connect to shorten client reconnect delays; the platform never does. */
    readonly retryMs?: number
  }
}

/** Controls and records of the live stream. */
export interface LiveStreamControl {
  readonly log: LiveStream
  /** Appends events; open connections receive them at once. */
  append(...events: ReadonlyArray<StreamEventInput>): ReadonlyArray<StreamEvent>
  /** Every connection served (refused ones are not), in order. */
  readonly connections: ReadonlyArray<StreamConnection>
  /** Scripts the next authenticated connections to an existing stream, one plan each. */
  planConnections(...plans: ReadonlyArray<StreamConnectionPlan>): void
  /** While silent, no connection gets events or heartbeats. */
  setSilent(silent: boolean): void
  /** A stopped collection answers 410. */
  setStopped(streamId: string, stopped: boolean): void
}

/** A running OpenCTI platform stand-in on 127.0.0.1. */
export interface OpenCtiStandIn {
  /** The platform URL (`OPENCTI_URL`): `/graphql`, `/stream`, `/stream/<id>` and `/storage/get/<id>` live under it. */
  readonly url: string
  readonly token: string
  /** Every `POST /graphql`, in order. */
  readonly calls: ReadonlyArray<GraphqlCall>
  /** The executed calls selecting root field `field` (e.g. `"stixBundlePush"`). */
  callsTo(field: string): ReadonlyArray<GraphqlCall>
  /** Calls rejected before execution: bad envelope, syntax, schema validation, variables. */
  readonly invalidDocuments: ReadonlyArray<GraphqlCall>
  /** Throws, listing them, when a client sent invalid documents. */
  assertNoInvalidDocuments(): void
  /** Exceptions thrown by the stand-in itself while answering. */
  readonly internalErrors: ReadonlyArray<unknown>
  readonly connectors: Connectors
  readonly works: Works
  readonly knowledge: Knowledge
  readonly bundlePushes: BundlePushes
  readonly stream: LiveStreamControl
  readonly files: {
    put(fileId: string, content: string | Uint8Array): void
    readonly downloads: ReadonlyArray<FileDownload>
  }
  close(): Promise<void>
}

const HOST = "127.0.0.1"

const describeInvalid = (call: GraphqlCall): string => {
  const reasons = call.errors.map((error) => error.message).join("; ")
  return `${call.operationName ?? "(anonymous)"}: ${reasons === "" ? `HTTP ${call.status}` : reasons}`
}

export const startOpenCtiStandIn = async (options: OpenCtiStandInOptions): Promise<OpenCtiStandIn> => {
  const clock = options.clock ?? Date.now
  const platform = makePlatform(options)
  const limits = options.batchingProtection ?? PLATFORM_BATCHING_LIMITS
  const graphql = new GraphqlRoute(
    platform,
    options.token,
    connectorSchema(),
    limits === false ? [] : [batchingProtection(limits)]
  )
  const log = LiveStream.from(options.stream?.events ?? [], clock)
  const stream = new LiveStreamRoute(log, options.token, {
    ids: options.stream?.ids ?? ["live"],
    heartbeatIntervalMs: options.stream?.heartbeatIntervalMs ?? 5_000,
    dropAfterEvents: options.stream?.dropAfterEvents,
    retryMs: options.stream?.retryMs,
    snapshot: options.stream?.snapshot ?? [],
    clock
  })
  const storage = new StorageRoute(options.token)
  const internalErrors: Array<unknown> = []

  const route = (request: IncomingMessage, response: ServerResponse): Promise<void> | void => {
    const url = new URL(request.url ?? "/", `http://${HOST}`)
    const path = url.pathname
    if (request.method === "POST" && path === "/graphql") return graphql.handle(request, response)
    if (request.method === "GET" && path === "/stream") return stream.handle(request, response, undefined, url.searchParams)
    if (request.method === "GET" && path.startsWith("/stream/") && !path.slice("/stream/".length).includes("/")) {
      return stream.handle(request, response, decodeURIComponent(path.slice("/stream/".length)), url.searchParams)
    }
    if (request.method === "GET" && path.startsWith("/storage/get/")) {
      return storage.handle(request, response, decodeURIComponent(path.slice("/storage/get/".length)))
    }
    sendText(response, 404, `Cannot ${request.method} ${path}`)
  }

  const answer = (request: IncomingMessage, response: ServerResponse) => {
    Promise.resolve()
      .then(() => route(request, response))
      .catch((error: unknown) => {
        internalErrors.push(error)
        if (response.headersSent) response.destroy()
        else sendText(response, 500, "Internal Server Error")
      })
  }
  const server = options.tls === undefined ? createServer(answer) : createTlsServer({ key: options.tls.key, cert: options.tls.cert }, answer)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo

  const invalidDocuments = (): ReadonlyArray<GraphqlCall> => graphql.calls.filter((call) => call.invalid)

  return {
    url: `${options.tls === undefined ? "http" : "https"}://${HOST}:${port}`,
    token: options.token,
    calls: graphql.calls,
    callsTo: (field) => graphql.calls.filter((call) => !call.invalid && call.fields.includes(field)),
    get invalidDocuments() {
      return invalidDocuments()
    },
    assertNoInvalidDocuments: () => {
      const invalid = invalidDocuments()
      if (invalid.length > 0) {
        throw new Error(`${invalid.length} invalid GraphQL document(s):\n${invalid.map(describeInvalid).join("\n")}`)
      }
    },
    internalErrors,
    connectors: platform.connectors,
    works: platform.works,
    knowledge: platform.knowledge,
    bundlePushes: platform.pushes,
    stream: {
      log,
      append: (...events) => log.append(...events),
      connections: stream.connections,
      planConnections: (...plans) => stream.planConnections(...plans),
      setSilent: (silent) => stream.setSilent(silent),
      setStopped: (streamId, stopped) => stream.setStopped(streamId, stopped)
    },
    files: {
      put: (fileId, content) => storage.put(fileId, content),
      downloads: storage.downloads
    },
    close: async () => {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error === undefined ? resolve() : reject(error)))
      )
      // Open live streams never end by themselves.
      server.closeAllConnections()
      await Promise.all([closed, ...stream.connections.map((connection) => connection.closed)])
    }
  }
}

/** The stand-in for the enclosing scope. */
export const openCtiStandInScoped = (options: OpenCtiStandInOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startOpenCtiStandIn(options)),
    (standIn) => Effect.promise(() => standIn.close())
  )
