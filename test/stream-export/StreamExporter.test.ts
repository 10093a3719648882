import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Metric, Option, Queue } from "effect"
import { TestClock } from "effect/testing"
import { objectDigest } from "../../src/stream-export/EventTrail.js"
import { watchingClock } from "../support/ClockWatch.js"
import { OPENCTI_EXTENSION } from "../support/opencti/streamEvents.js"
import { baseMs, event, idOf, idsOf, linesOf, makeWorld, stixId } from "./exporterWorld.js"

/** Objects this process's exporters could not write (write_errors_total). */
const writeErrors = Effect.map(Metric.snapshot, (metrics) =>
  metrics.reduce((sum, metric) => (metric.id === "write_errors_total" && metric.type === "Counter" ? sum + Number(metric.state.count) : sum), 0))

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
        file_count: 1,
        last_written_objects: [objectDigest(stixId(3))]
      }))
    }))

  it.effect("a group of events sharing one id and split by a batch boundary: start_from is before the group", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" } })
      yield* world.run
      yield* Queue.offerAll(world.queue, [event(1), event(2), event(2, { object: 21 }), event(2, { object: 22 }), event(3)])
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

  it.effect("adopts an object a state without intent does not account for, instead of writing its number again; its events are not written again", () =>
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
        assert.deepStrictEqual(idsOf(world.objects().get("opencti-stream/stream_60000_6.json")), [idOf(8)])
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

  it.effect.each([
    { name: "data with trailing text", data: "{\"type\":\"create\"} {}", reason: "Unexpected non-whitespace character" },
    { name: "data that is not an object", data: "[1,2]", reason: "it is JSON, but not an object" }
  ])("stops at an event with $name instead of skipping it, naming the phase and the event", ({ data, reason }) =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ state: { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 } })
      const fiber = yield* world.run
      yield* Queue.offerAll(world.queue, [event(1), { id: idOf(2), event: "create", data }])
      yield* TestClock.adjust("60 seconds")
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "enrich" && error.value.eventId === idOf(2))
      assert.include(Option.isSome(error) ? error.value.message : "", reason)
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 }))
    }))

  it.effect("stops at an event it would have to serialise from hostile data, naming the phase and the event", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ state: { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 } })
      const fiber = yield* world.run
      yield* Queue.offerAll(world.queue, [{ id: idOf(1), event: "update", data: "{\"type\":\"create\",\"data\":{\"name\":\"a\",\"name\":\"b\"}}" }])
      yield* TestClock.adjust("60 seconds")
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value._tag === "StreamExportError" && error.value.phase === "enrich" && error.value.eventId === idOf(1))
      assert.include(Option.isSome(error) ? error.value.message : "", "the same member name twice")
      assert.strictEqual(world.objects().size, 0)
    }))

  it.effect("stops on a write failure without committing, counting the error; the object stays decided", () =>
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
        const state = Option.getOrThrow(yield* world.state)
        assert.deepStrictEqual([state["file_count"], state["last_written_msg_id"]], [1, idOf(0)])
        assert.deepInclude(state["pending_object"], { file_number: 2, key: "opencti-stream/stream_60000_2.json", last_written_msg_id: idOf(1) })
        assert.strictEqual((yield* writeErrors) - writeErrorsBefore, 1)
      })))

  it.effect("stops on a commit failure; the object written is adopted, not rewritten, by the next start", () =>
    watchingClock((clock) =>
      Effect.gen(function*() {
        const initial = { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 1 }
        const failing = yield* makeWorld({ failCommitAfter: 1, state: initial })
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
