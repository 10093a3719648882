import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Option, Stream } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { LiveStream } from "../../src/opencti/LiveStream.js"
import type { LiveEvent, LiveStreamOptions } from "../../src/opencti/LiveStream.js"
import * as PlatformHttp from "../../src/opencti/PlatformHttp.js"
import { testCertificatesScoped } from "../support/Certificates.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn, OpenCtiStandInOptions } from "../support/OpenCtiStandIn.js"
import { platformEvent, syntheticEvents } from "../support/opencti/streamEvents.js"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

const TOKEN = "stream-token"

const malware = (n: number) => ({ id: `malware--00000000-0000-4000-8000-00000000000${n}`, type: "malware", name: `m${n}` })
const fiveEvents = [
  platformEvent("create", malware(1), { id: "1730000000001-0" }),
  platformEvent("update", malware(1), { id: "1730000000002-0", type: "update" }),
  platformEvent("delete", malware(1), { id: "1730000000002-1", type: "update" }),
  platformEvent("merge", malware(2), { id: "1730000000003-0" }),
  platformEvent("delete", malware(2), { id: "1730000000004-0" })
]
const IDS = ["1730000000001-0", "1730000000002-0", "1730000000002-1", "1730000000003-0", "1730000000004-0"]

const defaults: LiveStreamOptions = {
  streamId: Option.some("live"),
  listenDelete: true,
  noDependencies: false,
  withInferences: false,
  watchdog: Duration.seconds(5),
  bufferSize: 100
}

/** A LiveStream client of the stand-in, for the enclosing scope (its HTTP client lives as long). */
const clientOf = (standIn: { readonly url: string }, options: Partial<LiveStreamOptions> = {}) =>
  Effect.map(
    Layer.build(LiveStream.layer({ ...defaults, ...options }).pipe(
      Layer.provide(PlatformHttp.layer),
      Layer.provideMerge(OpenCtiConfig.layer({ type: "STREAM", name: "test", scope: [] })),
      Layer.provide(layerRecord({ OPENCTI_URL: standIn.url, OPENCTI_TOKEN: TOKEN, CONNECTOR_ID: "c0ffee00-0000-4000-8000-000000000001" }))
    )),
    (context) => Context.get(context, LiveStream)
  )

/** The stand-in and a LiveStream client of it. */
const setUp = (standInOptions: Omit<OpenCtiStandInOptions, "token">, options: Partial<LiveStreamOptions> = {}) =>
  Effect.gen(function*() {
    const standIn = yield* openCtiStandInScoped({ token: TOKEN, ...standInOptions })
    return { standIn, live: yield* clientOf(standIn, options) }
  })

const take = (stream: Stream.Stream<LiveEvent, unknown>, n: number) => Stream.runCollect(Stream.take(stream, n))

const ids = (events: ReadonlyArray<LiveEvent>) => events.map((event) => event.id)

const header = (standIn: OpenCtiStandIn, connection: number, name: string) => standIn.stream.connections[connection]?.request.headers[name]

describe("LiveStream", () => {
  it.live("connects with pycti's headers and parameters, and delivers data events with their SSE names", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents } }, { listenDelete: true, noDependencies: true, withInferences: false })
      const events = yield* take(live.open({ startFrom: "0-0", recoverUntil: Option.some("2024-10-27T03:33:20Z") }), 5)
      assert.deepStrictEqual(ids(events), IDS)
      assert.deepStrictEqual(events.map((event) => event.event), ["create", "update", "delete", "merge", "delete"])
      assert.strictEqual(JSON.parse(events[2]?.data ?? "{}").type, "update")
      const request = standIn.stream.connections[0]?.request
      assert.strictEqual(request?.headers["authorization"], `Bearer ${TOKEN}`)
      assert.deepStrictEqual([request?.listenDelete, request?.noDependencies, request?.withInferences], ["true", "true", "false"])
      assert.strictEqual(request?.lastEventId, "0-0")
      assert.strictEqual(request?.recover, "2024-10-27T03:33:20Z")
      assert.strictEqual(request?.headers["cache-control"], "no-cache")
      assert.strictEqual(request?.headers["accept"], "text/event-stream")
    }))

  it.live("resumes after the position it is given (the state of a restarted connector), without recover when there is none", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents } })
      const events = yield* take(live.open({ startFrom: "1730000000002-0", recoverUntil: Option.none() }), 3)
      assert.deepStrictEqual(ids(events), IDS.slice(2))
      assert.isUndefined(standIn.stream.connections[0]?.request.recover)
    }))

  it.live("reconnects after a dropped connection before the last id received, losing none and repeating none", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents, retryMs: 20 } })
      standIn.stream.planConnections({ dropAfterEvents: 2 }, { dropAfterEvents: 2 })
      const events = yield* take(live.open({ startFrom: "0-0", recoverUntil: Option.none() }), 5)
      assert.deepStrictEqual(ids(events), IDS)
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.request.lastEventId), ["0-0", "1730000000001-0", "1730000000002-0"])
      assert.strictEqual(header(standIn, 2, "authorization"), `Bearer ${TOKEN}`)
    }))

  it.live("stops with a clear reason on 401 (unknown stream) and 410 (stopped stream)", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents, ids: ["live", "paused"] } })
      const unknownStream = yield* clientOf(standIn, { streamId: Option.some("nope") })
      const unknown = yield* Effect.flip(Stream.runDrain(unknownStream.open({ startFrom: "0-0", recoverUntil: Option.none() })))
      assert.deepStrictEqual([unknown.reason, unknown.status, unknown.streamId], ["unauthorized", 401, "nope"])
      standIn.stream.setStopped("live", true)
      const stopped = yield* Effect.flip(Stream.runDrain(live.open({ startFrom: "0-0", recoverUntil: Option.none() })))
      assert.deepStrictEqual([stopped.reason, stopped.status, stopped.streamId], ["stopped", 410, "live"])
      assert.include(stopped.message, "HTTP 410")
    }))

  it.live("fails on a silence longer than the watchdog, but heartbeats keep it alive", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents, heartbeatIntervalMs: 100 } }, { watchdog: Duration.millis(600) })
      const kept = yield* take(live.open({ startFrom: "1730000000004-0", recoverUntil: Option.none() }), 1).pipe(
        Effect.timeoutOption(Duration.millis(1500))
      )
      assert.isTrue(Option.isNone(kept))
      standIn.stream.planConnections({ silent: true })
      const started = Date.now()
      const error = yield* Effect.flip(Stream.runDrain(live.open({ startFrom: "1730000000004-0", recoverUntil: Option.none() })))
      assert.strictEqual(error.reason, "watchdog")
      assert.isAtLeast(Date.now() - started, 550)
    }))

  it.live("holds the socket while the consumer is slow: a small buffer, every event in order", () =>
    Effect.gen(function*() {
      const count = 20_000
      const { live } = yield* setUp({ stream: { events: syntheticEvents(count) } }, { bufferSize: 16 })
      const received = yield* live.open({ startFrom: "0-0", recoverUntil: Option.none() }).pipe(
        Stream.take(count),
        Stream.mapEffect((event) => (Number(event.id.split("-")[0]) % 2000 === 0 ? Effect.sleep(Duration.millis(20)) : Effect.void).pipe(Effect.as(event.id))),
        Stream.runCollect
      )
      assert.strictEqual(received.length, count)
      assert.deepStrictEqual(received.slice(0, 2), ["1700000000000-0", "1700000000001-0"])
      assert.isTrue(received.every((id, index) => id === `${1_700_000_000_000 + index}-0`))
    }))

  it.live("retries a platform that answers 5xx while it restarts, then delivers every event", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents } })
      standIn.stream.planConnections({ status: 503 }, { status: 502 })
      const events = yield* take(live.open({ startFrom: "0-0", recoverUntil: Option.none() }), 5)
      assert.deepStrictEqual(ids(events), IDS)
      assert.strictEqual(standIn.stream.connections.length, 1)
    }))

  it.live("retries a refused connection until the platform listens again", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const live = yield* clientOf({ url: `http://127.0.0.1:${port}` })
      const reading = yield* Effect.forkChild(take(live.open({ startFrom: "0-0", recoverUntil: Option.none() }), 5))
      yield* Effect.sleep(Duration.millis(1200))
      yield* openCtiStandInScoped({ token: TOKEN, port, stream: { events: fiveEvents } })
      assert.deepStrictEqual(ids(yield* Fiber.join(reading)), IDS)
    }))

  it.live("stops on 404: the platform has no such stream", () =>
    Effect.gen(function*() {
      const { standIn, live } = yield* setUp({ stream: { events: fiveEvents } })
      standIn.stream.planConnections({ status: 404 })
      const error = yield* Effect.flip(Stream.runDrain(live.open({ startFrom: "0-0", recoverUntil: Option.none() })))
      assert.deepStrictEqual([error.reason, error.status], ["missing", 404])
    }))

  it.live("stops at once on a certificate it cannot verify, naming OPENCTI_SSL_VERIFY, instead of retrying it", () =>
    Effect.gen(function*() {
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, tls: yield* testCertificatesScoped, stream: { events: fiveEvents } })
      const live = yield* clientOf(standIn)
      const error = yield* Effect.flip(Stream.runDrain(live.open({ startFrom: "0-0", recoverUntil: Option.none() })))
      assert.strictEqual(error.reason, "certificate")
      assert.include(error.message, "OPENCTI_SSL_VERIFY")
      assert.strictEqual(standIn.stream.connections.length, 0)
    }))

  it.live("passes on events of any name, not only create, update, delete and merge", () =>
    Effect.gen(function*() {
      const server = createServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write("event: connected\ndata: {}\n\n")
        response.write("id: 1730000000001-0\nevent: create\ndata: {\"n\":1}\n\n")
        response.write("id: 1730000000002-0\nevent: sync-marker\ndata: {\"n\":2}\n\n")
        response.write("id: 1730000000003-0\ndata: {\"n\":3}\n\n")
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
      )
      const live = yield* clientOf({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
      const events = yield* take(live.open({ startFrom: "0-0", recoverUntil: Option.none() }), 3)
      assert.deepStrictEqual(events.map((event) => [event.id, event.event]), [
        ["1730000000001-0", "create"],
        ["1730000000002-0", "sync-marker"],
        ["1730000000003-0", "message"]
      ])
    }))
})

/** A port nothing listens on (it was free a moment ago). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
