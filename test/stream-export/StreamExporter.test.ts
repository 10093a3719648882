import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Metric, Option, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { LiveStream } from "../../src/opencti/LiveStream.js"
import type { LiveEvent, LivePosition, LiveStreamError } from "../../src/opencti/LiveStream.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"
import type { ConnectorState } from "../../src/state/StateStore.js"
import { StateStore, StateStoreError } from "../../src/state/StateStore.js"
import { ObjectStorage, ObjectStorageError } from "../../src/storage/ObjectStorage.js"
import type { MemoryBuckets, StoredObject } from "../../src/storage/ObjectStorage.js"
import { StreamExportConfig } from "../../src/stream-export/StreamExportConfig.js"
import { StreamExporter } from "../../src/stream-export/StreamExporter.js"
import { watchingClock } from "../support/ClockWatch.js"
import { makeLevel } from "../support/Level.js"
import { OPENCTI_EXTENSION } from "../support/opencti/streamEvents.js"

const baseMs = 1_700_000_000_000
const idOf = (n: number) => `${baseMs + n}-0`

const event = (n: number, options: { readonly event?: string; readonly padding?: number; readonly files?: ReadonlyArray<string>; readonly context?: unknown } = {}): LiveEvent => ({
  id: idOf(n),
  event: options.event ?? "create",
  data: JSON.stringify({
    version: "4",
    type: "create",
    scope: "external",
    message: `creates a Malware \`m${n}\``,
    data: {
      id: `malware--${String(n).padStart(8, "0")}-0000-4000-8000-000000000000`,
      type: "malware",
      name: `m${n}`,
      description: "x".repeat(options.padding ?? 0),
      extensions: { [OPENCTI_EXTENSION]: { type: "Malware", files: (options.files ?? []).map((name) => ({ name, uri: `/storage/get/import/Malware/${name}`, mime_type: "text/plain" })) } }
    },
    ...(options.context === undefined ? {} : { context: options.context })
  })
})

const baseEnv = {
  OPENCTI_URL: "http://opencti.test",
  OPENCTI_TOKEN: "token",
  CONNECTOR_ID: "0d4a0c2e-3e0e-4a8e-9d55-1f6b7f6c1b21",
  CONNECTOR_NAME: "Exporter",
  CONNECTOR_LIVE_STREAM_ID: "live",
  MINIO_ENDPOINT: "minio",
  MINIO_BUCKET: "export",
  MINIO_FOLDER: "opencti-stream",
  WRITE_EVERY_SEC: "60"
}

const decoder = new TextDecoder()

interface WorldOptions {
  readonly env?: Record<string, string>
  readonly state?: ConnectorState
  readonly objects?: Record<string, string>
  /** File contents by storage path, or the HTTP status the platform answers with. */
  readonly files?: Record<string, string | number>
  readonly failPut?: boolean
  readonly failCommit?: boolean
}

const makeWorld = Effect.fn(function*(options: WorldOptions = {}) {
  const queue = yield* Queue.unbounded<LiveEvent, LiveStreamError | Cause.Done>()
  const stored = new Map<string, StoredObject>(
    Object.entries(options.objects ?? {}).map(([key, body]) => [key, { body: new TextEncoder().encode(body), lastModified: 0, contentType: "application/x-ndjson" }])
  )
  const buckets: MemoryBuckets = options.objects === undefined ? new Map() : new Map([["export", stored]])
  const opened: Array<LivePosition> = []
  const listening = makeLevel()
  const written = makeLevel()
  const live = Layer.succeed(LiveStream, LiveStream.of({
    open: (position) => {
      opened.push(position)
      listening.add()
      return Stream.fromQueue(queue)
    }
  }))
  const memory = ObjectStorage.layerMemory(buckets)
  const storage = options.failPut === true
    ? Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) => ObjectStorage.of({
      ...inner,
      put: (bucket, key) => Effect.fail(new ObjectStorageError({ operation: "put", bucket, key, message: "SlowDown: the server is unavailable" }))
    }))).pipe(Layer.provide(memory))
    : memory
  const files = options.files ?? {}
  const openCti = OpenCti.layerTest((_request, url) => {
    const content = files[decodeURIComponent(url.pathname.replace(/^\/storage\/get\//, ""))]
    return Effect.succeed(
      content === undefined
        ? new Response("not found", { status: 404 })
        : typeof content === "number"
        ? new Response("", { status: content })
        : new Response(content)
    )
  })
  const config = Layer.mergeAll(OpenCtiConfig.layer({ type: "STREAM", name: "Exporter", scope: ["stream"] }), StreamExportConfig.layer).pipe(
    Layer.provide(layerRecord({ ...baseEnv, ...options.env }))
  )
  const memoryState = StateStore.layerMemory(Option.fromUndefinedOr(options.state))
  const stateStore = Layer.effect(StateStore, Effect.map(StateStore, (inner) => StateStore.of({
    get: inner.get,
    set: (state) =>
      options.failCommit === true
        ? Effect.fail(new StateStoreError({ message: "cannot save the state on the platform: HTTP 502" }))
        // A commit once the stream is open is the one that follows an object's write.
        : Effect.andThen(inner.set(state), Effect.sync(() => {
          if (listening.value() > 0) written.add()
        }))
  }))).pipe(Layer.provide(memoryState))
  const layer = StreamExporter.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(storage, live, stateStore, openCti)),
    Layer.provideMerge(config)
  )
  const context = yield* Layer.build(layer)
  const state = Effect.flatMap(StateStore, (store) => store.get).pipe(Effect.provide(context))
  return {
    queue,
    opened,
    state,
    /** Waits until the exporter has opened the live stream. */
    listening: listening.reach(1),
    /** Waits until `count` objects have been written and committed. */
    written: written.reach,
    /** The objects of the export bucket, by key, as text. */
    objects: () => new Map([...(buckets.get("export") ?? new Map<string, StoredObject>()).entries()].map(([key, object]) => [key, decoder.decode(object.body)])),
    run: Effect.forkChild(Effect.flatMap(StreamExporter, (exporter) => exporter.run).pipe(Effect.provide(context)))
  }
})

/** Objects this process's exporters could not write (write_errors_total). */
const writeErrors = Effect.map(Metric.snapshot, (metrics) =>
  metrics.reduce((sum, metric) => (metric.id === "write_errors_total" && metric.type === "Counter" ? sum + Number(metric.state.count) : sum), 0))

const linesOf = (text: string | undefined) => (text ?? "").split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line))
const idsOf = (text: string | undefined) => linesOf(text).map((line) => line.id)

describe("StreamExporter", () => {
  it.effect("writes one object per window, once the window of its first event ends", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const world = yield* makeWorld()
        yield* world.run
        yield* Queue.offerAll(world.queue, [event(1), event(2), event(3)])
        yield* clock.sleeping()
        yield* TestClock.adjust("59 seconds")
        assert.strictEqual(world.objects().size, 0)
        yield* TestClock.adjust("1 second")
        yield* world.written(1)
        assert.deepStrictEqual([...world.objects().keys()], ["opencti-stream/stream_60000_1.json"])
        assert.deepStrictEqual(idsOf(world.objects().get("opencti-stream/stream_60000_1.json")), [idOf(1), idOf(2), idOf(3)])

        yield* Queue.offerAll(world.queue, [event(4)])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        yield* world.written(2)
        assert.deepStrictEqual(idsOf(world.objects().get("opencti-stream/stream_120000_2.json")), [idOf(4)])
      })))

  it.effect("writes the line format the stream importer reads: payload, id, SSE event name as type, previous_standard, files inlined", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "2" }, files: { "import/Malware/a.txt": "hello", "import/Malware/b.txt": "world" } })
      yield* world.run
      const reversePatch = { reverse_patch: [{ op: "replace", path: "/id", value: "malware--previous" }, { op: "replace", path: "/name", value: "old" }] }
      yield* Queue.offerAll(world.queue, [event(1, { event: "delete", files: ["a.txt", "b.txt", "gone.txt"] }), event(2, { event: "update", context: reversePatch })])
      yield* world.written(1)
      const [first, second] = linesOf(world.objects().get("opencti-stream/stream_0_1.json"))
      assert.strictEqual(first.id, idOf(1))
      assert.strictEqual(first.type, "delete")
      assert.strictEqual(first.version, "4")
      assert.deepStrictEqual(first.data.extensions[OPENCTI_EXTENSION].files.map((file: { data?: string }) => file.data), ["aGVsbG8=", "d29ybGQ=", undefined])
      // pycti's import reads the extension's list; the reference exporter's copy in data.files is never read.
      assert.isUndefined(first.data.files)
      assert.isUndefined(first.previous_standard)
      assert.strictEqual(second.type, "update")
      assert.strictEqual(second.previous_standard, "malware--previous")
    }))

  it.effect("closes a batch at WRITE_MAX_EVENTS and at WRITE_MAX_BYTES without waiting for the window", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "2", WRITE_MAX_BYTES: "2048" } })
        yield* world.run
        yield* Queue.offerAll(world.queue, [event(1), event(2), event(3), event(4), event(5)])
        yield* world.written(2)
        assert.deepStrictEqual([...world.objects().values()].map(idsOf), [[idOf(1), idOf(2)], [idOf(3), idOf(4)]])
        yield* Queue.offerAll(world.queue, [event(6, { padding: 3000 }), event(7)])
        yield* world.written(3)
        assert.deepStrictEqual([...world.objects().values()].map(idsOf).slice(2), [[idOf(5), idOf(6)]])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        yield* world.written(4)
        assert.deepStrictEqual([...world.objects().values()].map(idsOf).slice(3), [[idOf(7)]])
      })))

  it.effect("commits after each write: file_count, last_written_msg_id, and a start_from that resumes after written events only", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" } })
      yield* world.run
      yield* world.listening
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: "0-0", recover_until: "1970-01-01T00:00:00Z", file_count: 0 }))
      yield* Queue.offerAll(world.queue, [event(1), event(2), event(3), event(4)])
      yield* world.written(1)
      assert.deepStrictEqual(yield* world.state, Option.some({
        start_from: idOf(2),
        recover_until: "1970-01-01T00:00:00Z",
        last_written_msg_id: idOf(3),
        file_count: 1
      }))
    }))

  it.effect("a group of events sharing one id and split by a batch boundary: start_from is before the group", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" } })
      yield* world.run
      yield* Queue.offerAll(world.queue, [event(1), event(2), event(2, { padding: 1 }), event(2, { padding: 2 }), event(3)])
      yield* world.written(1)
      const cursor = Option.map(yield* world.state, (state) => [state["start_from"], state["last_written_msg_id"]])
      assert.deepStrictEqual(cursor, Option.some([idOf(1), idOf(2)]))
    }))

  it.effect("one event per object: start_from follows the objects written", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "1" } })
      yield* world.run
      yield* Queue.offerAll(world.queue, [event(1), event(2), event(3)])
      yield* world.written(3)
      const cursor = Option.map(yield* world.state, (state) => [state["start_from"], state["last_written_msg_id"], state["file_count"]])
      assert.deepStrictEqual(cursor, Option.some([idOf(2), idOf(3), 3]))
    }))

  it.effect("resumes from the state and continues the numbering", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const world = yield* makeWorld({
          state: { start_from: idOf(4), recover_until: "2023-11-14T00:00:00Z", last_written_msg_id: idOf(5), file_count: 4 }
        })
        yield* world.run
        yield* world.listening
        assert.deepStrictEqual(world.opened, [{ startFrom: idOf(4), recoverUntil: Option.some("2023-11-14T00:00:00Z") }])
        yield* Queue.offerAll(world.queue, [event(5), event(6)])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        yield* world.written(1)
        assert.deepStrictEqual([...world.objects().keys()], ["opencti-stream/stream_60000_5.json"])
        const state = Option.getOrThrow(yield* world.state)
        assert.strictEqual(state["file_count"], 5)
        assert.strictEqual(state["last_written_msg_id"], idOf(6))
      })))

  it.effect("never resumes after the last written event of a state written by the Python exporter", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ state: { start_from: idOf(9), recover_until: false, last_written_msg_id: idOf(5), file_count: 2 } })
      yield* world.run
      yield* world.listening
      assert.deepStrictEqual(world.opened, [{ startFrom: idOf(5), recoverUntil: Option.none() }])
    }))

  it.effect("reads a stored recover_until of pycti's \"None\" as no recovery, and commits it as false", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "1" }, state: { start_from: idOf(5), recover_until: "None", file_count: 0 } })
      yield* world.run
      yield* world.listening
      assert.deepStrictEqual(world.opened, [{ startFrom: idOf(5), recoverUntil: Option.none() }])
      yield* Queue.offerAll(world.queue, [event(6)])
      yield* world.written(1)
      assert.deepStrictEqual(Option.map(yield* world.state, (state) => state["recover_until"]), Option.some(false))
    }))

  it.effect("positions a first start at CONNECTOR_LIVE_STREAM_START_TIMESTAMP, without recovery when told so", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { CONNECTOR_LIVE_STREAM_START_TIMESTAMP: String(baseMs), CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "false" } })
      yield* world.run
      yield* world.listening
      assert.deepStrictEqual(world.opened, [{ startFrom: `${baseMs}-0`, recoverUntil: Option.none() }])
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: `${baseMs}-0`, recover_until: false, file_count: 0 }))
    }))

  it.effect("adopts an object written before a crash instead of writing its number again", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const orphan = [event(6), event(7)].map((line) => JSON.stringify({ ...JSON.parse(line.data), id: line.id, type: line.event })).join("\n") + "\n"
        const world = yield* makeWorld({
          state: { start_from: idOf(5), recover_until: false, last_written_msg_id: idOf(5), file_count: 4 },
          objects: { "opencti-stream/stream_1_4.json": "", "opencti-stream/stream_2_5.json": orphan }
        })
        yield* world.run
        yield* world.listening
        assert.deepStrictEqual(world.opened, [{ startFrom: idOf(6), recoverUntil: Option.none() }])
        const state = Option.getOrThrow(yield* world.state)
        assert.deepStrictEqual([state["file_count"], state["last_written_msg_id"]], [5, idOf(7)])
        yield* Queue.offerAll(world.queue, [event(7), event(8)])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        yield* world.written(1)
        assert.strictEqual(world.objects().get("opencti-stream/stream_2_5.json"), orphan)
        assert.deepStrictEqual(idsOf(world.objects().get("opencti-stream/stream_60000_6.json")), [idOf(7), idOf(8)])
      })))

  it.effect("refuses to start when the folder holds objects the state does not account for", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({
        state: { start_from: idOf(5), recover_until: false, last_written_msg_id: idOf(5), file_count: 2 },
        objects: { "opencti-stream/stream_1_3.json": "", "opencti-stream/stream_2_4.json": "" }
      })
      const exit = yield* Fiber.await(yield* world.run)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "reconcile")
      assert.deepStrictEqual(world.opened, [])
      assert.strictEqual(Option.getOrThrow(yield* world.state)["file_count"], 2)
    }))

  it.effect("refuses a state it cannot read instead of starting over", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ state: { start_from: idOf(5), file_count: "3" } })
      const exit = yield* Fiber.await(yield* world.run)
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "state")
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: idOf(5), file_count: "3" }))
    }))

  it.effect("stops when the platform still fails to serve a file after the retries, instead of exporting it empty", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ files: { "import/Malware/a.txt": 503 }, state: { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 } })
        const fiber = yield* world.run
        yield* Queue.offerAll(world.queue, [event(1, { files: ["a.txt"] })])
        yield* clock.sleeping()
        yield* TestClock.adjust("10 minutes")
        const exit = yield* Fiber.await(fiber)
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "enrich")
        assert.strictEqual(world.objects().size, 0)
        assert.deepStrictEqual(yield* world.state, Option.some({ start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 }))
      })))

  it.effect("stops on a write failure without committing, counting the error", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const writeErrorsBefore = yield* writeErrors
        const world = yield* makeWorld({ failPut: true, state: { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 } })
        const fiber = yield* world.run
        yield* Queue.offerAll(world.queue, [event(1)])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        const exit = yield* Fiber.await(fiber)
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "write")
        assert.include(Option.isSome(error) ? error.value.message : "", "opencti-stream/stream_60000_2.json")
        assert.deepStrictEqual(yield* world.state, Option.some({ start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 }))
        assert.strictEqual((yield* writeErrors) - writeErrorsBefore, 1)
      })))

  it.effect("stops on a commit failure; the object written is adopted, not rewritten, by the next start", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const initial = { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 }
        const failing = yield* makeWorld({ failCommit: true, state: initial })
        const fiber = yield* failing.run
        yield* Queue.offerAll(failing.queue, [event(1), event(2)])
        yield* clock.sleeping()
        yield* TestClock.adjust("60 seconds")
        const exit = yield* Fiber.await(fiber)
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "commit")
        const written = failing.objects()
        assert.deepStrictEqual([...written.keys()], ["opencti-stream/stream_60000_2.json"])

        const restarted = yield* makeWorld({ state: initial, objects: Object.fromEntries(written) })
        yield* restarted.run
        yield* restarted.listening
        assert.deepStrictEqual(restarted.opened, [{ startFrom: idOf(1), recoverUntil: Option.none() }])
        const state = Option.getOrThrow(yield* restarted.state)
        assert.deepStrictEqual([state["file_count"], state["last_written_msg_id"]], [2, idOf(2)])
        assert.deepStrictEqual(restarted.objects(), written)
      })))

  it.effect("on interruption (SIGTERM) writes and commits the events it holds, then stops", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const world = yield* makeWorld()
        const fiber = yield* world.run
        yield* Queue.offerAll(world.queue, [event(1), event(2)])
        // The window is open: the exporter holds both events.
        yield* clock.sleeping()
        assert.strictEqual(world.objects().size, 0)
        const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
        assert.deepStrictEqual([...world.objects().values()].map(idsOf), [[idOf(1), idOf(2)]])
        assert.strictEqual(Option.getOrThrow(yield* world.state)["last_written_msg_id"], idOf(2))
      })))
})
