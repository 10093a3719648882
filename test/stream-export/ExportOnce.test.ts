import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Queue } from "effect"
import { TestClock } from "effect/testing"
import { objectDigest } from "../../src/stream-export/EventTrail.js"
import { event, idOf, idsOf, linesOf, makeWorld, settle, stixId } from "./exporterWorld.js"

/** A group of events sharing id 2 (an event and its dependencies), between events 1 and 3. */
const group = [event(1), event(2, { object: 21 }), event(2, { object: 22 }), event(2, { object: 23 }), event(3)]
const [one, twoA, twoB, twoC, three] = group

/** The (id, object) of each line of the objects, in object order. */
const eventsOf = (objects: ReadonlyMap<string, string>) =>
  [...objects.values()].flatMap((text) => linesOf(text).map((line) => `${line.id} ${line.data.id}`))

const everyEventOnce = (objects: ReadonlyMap<string, string>) => {
  const written = eventsOf(objects)
  assert.deepStrictEqual(written, [...new Set(written)], "no event written twice")
  assert.deepStrictEqual(new Set(written), new Set(group.map((line) => `${line.id} ${JSON.parse(line.data).data.id}`)), "no event missing")
}

/** An exporter that decided and wrote its first object, [1, 2a, 2b], then failed to commit it. */
const decidedNotCommitted = Effect.gen(function*() {
  const initial = { start_from: idOf(0), recover_until: false, last_written_msg_id: idOf(0), file_count: 0 }
  const failing = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, failCommitAfter: 1, state: initial, log: group })
  yield* Fiber.await(yield* failing.run)
  return failing
})

describe("StreamExporter: every event written once", () => {
  it.effect("a restart resumes before a group cut by an object, and writes only the members the object did not hold", () =>
    Effect.gen(function*() {
      const first = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state: { start_from: idOf(0), recover_until: false, file_count: 0 }, log: [one, twoA, twoB, twoC] })
      yield* first.run
      yield* settle
      assert.deepStrictEqual([...first.objects().values()].map(idsOf), [[idOf(1), idOf(2), idOf(2)]])
      const state = Option.getOrThrow(yield* first.state)
      assert.deepStrictEqual([state["start_from"], state["last_written_msg_id"], state["last_written_objects"]], [
        idOf(1),
        idOf(2),
        [objectDigest(stixId(21)), objectDigest(stixId(22))]
      ])

      // Killed with event 2c held: the platform sends the group again from its start.
      const second = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state, objects: Object.fromEntries(first.objects()), log: group })
      yield* second.run
      yield* settle
      yield* TestClock.adjust("60 seconds")
      yield* settle
      assert.deepStrictEqual(second.opened.map((position) => position.startFrom), [idOf(1)])
      assert.deepStrictEqual(idsOf(second.objects().get("opencti-stream/stream_60000_2.json")), [idOf(2), idOf(3)])
      everyEventOnce(second.objects())
    }))

  it.effect("a reconnect that sends the last run again writes none of it twice", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" } })
      yield* world.run
      yield* settle
      yield* Queue.offerAll(world.queue, [one, twoA, twoB])
      yield* settle
      yield* Queue.offerAll(world.queue, [twoA, twoB, twoC, three])
      yield* TestClock.adjust("60 seconds")
      yield* settle
      everyEventOnce(world.objects())
    }))

  it.effect("a restart after an object was written but not committed adopts the object it decided", () =>
    Effect.gen(function*() {
      const failing = yield* decidedNotCommitted
      const pending = Option.getOrThrow(yield* failing.state)
      assert.deepInclude(pending["pending_object"], { file_number: 1, key: "opencti-stream/stream_0_1.json", start_from: idOf(1), last_written_msg_id: idOf(2) })

      const restarted = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state: pending, objects: Object.fromEntries(failing.objects()), log: group })
      yield* restarted.run
      yield* settle
      yield* TestClock.adjust("60 seconds")
      yield* settle
      assert.deepStrictEqual(restarted.opened.map((position) => position.startFrom), [idOf(1)])
      assert.strictEqual(restarted.objects().get("opencti-stream/stream_0_1.json"), failing.objects().get("opencti-stream/stream_0_1.json"))
      assert.deepStrictEqual(idsOf(restarted.objects().get("opencti-stream/stream_60000_2.json")), [idOf(2), idOf(3)])
      everyEventOnce(restarted.objects())
    }))

  it.effect("an object decided, written and moved away before its commit is written again, same key, same bytes", () =>
    Effect.gen(function*() {
      const failing = yield* decidedNotCommitted
      const written = failing.objects()

      const restarted = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state: Option.getOrThrow(yield* failing.state), objects: {}, log: group })
      yield* restarted.run
      yield* settle
      assert.strictEqual(restarted.objects().get("opencti-stream/stream_0_1.json"), written.get("opencti-stream/stream_0_1.json"))
      const state = Option.getOrThrow(yield* restarted.state)
      assert.deepStrictEqual([state["file_count"], state["pending_object"]], [1, undefined])
      yield* TestClock.adjust("60 seconds")
      yield* settle
      assert.deepStrictEqual([...restarted.objects().keys()], ["opencti-stream/stream_0_1.json", "opencti-stream/stream_60000_2.json"])
      everyEventOnce(restarted.objects())
    }))

  it.effect("an object decided and found cut short by the stop is written again whole", () =>
    Effect.gen(function*() {
      const failing = yield* decidedNotCommitted
      const key = "opencti-stream/stream_0_1.json"
      const whole = failing.objects().get(key) ?? ""
      const restarted = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state: Option.getOrThrow(yield* failing.state), objects: { [key]: whole.slice(0, 40) }, log: group })
      yield* restarted.run
      yield* settle
      assert.strictEqual(restarted.objects().get(key), whole)
      assert.strictEqual(Option.getOrThrow(yield* restarted.state)["file_count"], 1)
    }))

  it.effect("written again, an object holds the same events even when the platform sends its group in another order, with a member more", () =>
    Effect.gen(function*() {
      const failing = yield* decidedNotCommitted

      const extra = event(2, { object: 24 })
      const resent = [one, twoB, extra, twoC, twoA, three]
      const restarted = yield* makeWorld({ env: { WRITE_MAX_EVENTS: "3" }, state: Option.getOrThrow(yield* failing.state), objects: {}, log: resent })
      yield* restarted.run
      yield* settle
      yield* TestClock.adjust("60 seconds")
      yield* settle
      const objects = [...restarted.objects().values()].map((text) => linesOf(text).map((line) => line.data.id))
      assert.deepStrictEqual(objects, [[stixId(1), stixId(22), stixId(21)], [stixId(24), stixId(23), stixId(3)]])
    }))
})
