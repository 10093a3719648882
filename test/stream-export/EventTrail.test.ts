import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { EventTrail, maxRunObjects, objectDigest } from "../../src/stream-export/EventTrail.js"
import * as ExportCursor from "../../src/stream-export/ExportCursor.js"

describe("EventTrail", () => {
  it("tells an event already followed by its id and object, in the last run only", () => {
    const trail = EventTrail.after("5-0", [objectDigest("a")])
    assert.deepStrictEqual(["a", "b", "b"].map((object) => trail.add("5-0", object)), [false, true, false])
    assert.isTrue(trail.add("6-0", "a"))
    assert.isFalse(trail.add("6-0", "a"))
    assert.deepStrictEqual(trail.runObjects, [objectDigest("a")])
    assert.strictEqual(trail.resumePoint({ resumePoint: "4-0", last: "5-0" }), "5-0")
  })

  it("tells again every member of a run it saw begin, the first one and the others", () => {
    const trail = new EventTrail()
    assert.deepStrictEqual(["a", "b", "c", "a", "c", "b"].map((object) => trail.add("5-0", object)), [true, true, true, false, false, false])
    assert.deepStrictEqual(trail.runObjects, ["a", "b", "c"].map(objectDigest))
  })

  it("remembers at most maxRunObjects objects of a run", () => {
    const trail = new EventTrail()
    for (let index = 0; index <= maxRunObjects; index++) trail.add("7-0", `object-${index}`)
    assert.lengthOf(trail.runObjects, maxRunObjects)
  })

  it("digests are 12 characters and differ by object", () => {
    assert.lengthOf(objectDigest("malware--1"), 12)
    assert.notStrictEqual(objectDigest("malware--1"), objectDigest("malware--2"))
  })
})

describe("ExportCursor", () => {
  const cursor = (state: Record<string, unknown>) => Effect.runSync(ExportCursor.fromState(state))

  it.each([
    { name: "a run going on from the committed one adds its objects", ids: [["6-0", "c"]], expected: ["6-0", "4-0", ["a", "b", "c"]] },
    { name: "a new run replaces them", ids: [["6-0", "c"], ["7-0", "d"]], expected: ["7-0", "6-0", ["d"]] },
    { name: "one run after the committed one: right after it", ids: [["8-0", "e"], ["8-0", "f"]], expected: ["8-0", "6-0", ["e", "f"]] }
  ])("where an object leaves the export: $name", ({ ids, expected }) => {
    const committed = cursor({ start_from: "4-0", recover_until: false, last_written_msg_id: "6-0", file_count: 3, last_written_objects: ["a", "b"].map(objectDigest) })
    const trail = new EventTrail()
    for (const [id = "", object = ""] of ids) trail.add(id, object)
    const written = ExportCursor.written(committed, trail)
    const [last, startFrom, objects] = expected
    assert.deepStrictEqual(
      [Option.getOrUndefined(written.lastWrittenMsgId), written.startFrom, written.lastWrittenObjects],
      [last, startFrom, (objects as ReadonlyArray<string>).map(objectDigest)]
    )
  })

  it("saves and reads back a decided object, and reads a pycti state without the new keys", () => {
    const state = {
      start_from: "4-0",
      recover_until: "2024-05-01T00:00:00Z",
      last_written_msg_id: "6-0",
      file_count: 3,
      last_written_objects: ["x"],
      pending_object: { file_number: 4, key: "f/stream_1_4.json", bytes: 120, start_from: "6-0", last_written_msg_id: "7-0", last_written_objects: ["y"] }
    }
    assert.deepStrictEqual(ExportCursor.toState(cursor(state)), state)
    const pycti = cursor({ start_from: "4-0", recover_until: "2024-05-01T00:00:00Z" })
    assert.deepStrictEqual([pycti.fileCount, pycti.lastWrittenObjects, Option.isNone(pycti.pending)], [0, [], true])
  })
})
