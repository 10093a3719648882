import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Queue } from "effect"
import { event, idOf, idsOf, makeWorld, settle } from "./exporterWorld.js"

const running = { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 4 }
const firstStart = { startFrom: "0-0", recoverUntil: Option.some("1970-01-01T00:00:00Z") }

describe("StreamExporter: a reset of the state on the platform", () => {
  it.effect("met by a heartbeat while idle: the export starts over from the configured start, numbering after the last object written", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "2" }, state: running })
      yield* world.run
      yield* settle
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.deepStrictEqual([...world.objects().keys()], ["opencti-stream/stream_0_5.json"])

      yield* world.resetRemotely
      yield* settle
      assert.deepStrictEqual(world.opened, [{ startFrom: idOf(0), recoverUntil: Option.none() }, firstStart])
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: "0-0", recover_until: "1970-01-01T00:00:00Z", file_count: 5 }))
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.deepStrictEqual([...world.objects().keys()], ["opencti-stream/stream_0_5.json", "opencti-stream/stream_0_6.json"])
    }))

  it.effect("answered to the commit of an object just written: that object's number is not given again", () =>
    Effect.gen(function*() {
      // Save 1 decides object 5, save 2 commits it and is answered with the reset.
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "2" }, state: running, resetAtSave: 2 })
      yield* world.run
      yield* settle
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.deepStrictEqual(world.opened.at(-1), firstStart)
      assert.strictEqual(Option.getOrThrow(yield* world.state)["file_count"], 5)
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.deepStrictEqual([...world.objects().values()].map(idsOf), [[idOf(1), idOf(2)], [idOf(1), idOf(2)]])
      assert.deepStrictEqual([...world.objects().keys()], ["opencti-stream/stream_0_5.json", "opencti-stream/stream_0_6.json"])
    }))

  it.effect("answered to the decision of an object: nothing of the export before the reset is written or saved", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "2" }, state: running, resetAtSave: 1 })
      yield* world.run
      yield* settle
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.strictEqual(world.objects().size, 0)
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: "0-0", recover_until: "1970-01-01T00:00:00Z", file_count: 4 }))
    }))

  it.effect("found at start (no state): objects are numbered after the highest one in the folder", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({
        env: { WRITE_MAX_EVENTS: "2" },
        objects: { "opencti-stream/stream_1_7.json": "", "opencti-stream/stream_2_3.json": "", "opencti-stream/sub/stream_3_40.json": "" }
      })
      yield* world.run
      yield* settle
      assert.deepStrictEqual(world.opened, [firstStart])
      assert.deepStrictEqual(yield* world.state, Option.some({ start_from: "0-0", recover_until: "1970-01-01T00:00:00Z", file_count: 7 }))
      yield* Queue.offerAll(world.queue, [event(1), event(2)])
      yield* settle
      assert.isTrue(world.objects().has("opencti-stream/stream_0_8.json"))
    }))
})
