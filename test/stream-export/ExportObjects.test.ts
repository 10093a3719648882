import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { checkFolder, fileNumberOf, highestNumber, objectEvents, objectKey } from "../../src/stream-export/ExportObjects.js"

describe("ExportObjects", () => {
  it("names objects as the stream importer parses them", () => {
    assert.strictEqual(objectKey("opencti-stream/", 1700000000000, 12), "opencti-stream/stream_1700000000000_12.json")
    assert.strictEqual(objectKey("", 5, 1), "stream_5_1.json")
    assert.deepStrictEqual(fileNumberOf("f/", "f/stream_5_12.json"), Option.some(12))
    assert.deepStrictEqual(["f/sub/stream_5_12.json", "g/stream_5_12.json", "f/stream_5_x.json", "f/other.json"].map((key) => fileNumberOf("f/", key)), [
      Option.none(),
      Option.none(),
      Option.none(),
      Option.none()
    ])
  })

  it.each([
    { name: "nothing past the state", count: 4, keys: ["f/stream_1_3.json", "f/stream_1_4.json"], tag: "Consistent" },
    { name: "an empty folder", count: 4, keys: [], tag: "Consistent" },
    { name: "the next object, uncommitted", count: 4, keys: ["f/stream_1_4.json", "f/stream_9_5.json"], tag: "Uncommitted" },
    { name: "two objects past the state", count: 4, keys: ["f/stream_1_5.json", "f/stream_2_6.json"], tag: "Inconsistent" },
    { name: "a gap", count: 4, keys: ["f/stream_1_6.json"], tag: "Inconsistent" },
    { name: "one number twice", count: 4, keys: ["f/stream_1_5.json", "f/stream_2_5.json"], tag: "Inconsistent" },
    { name: "objects without any state", count: 0, keys: ["f/stream_1_1.json", "f/stream_2_2.json"], tag: "Inconsistent" },
    { name: "the pending object", count: 4, keys: ["f/stream_1_4.json", "f/stream_9_5.json"], pending: "f/stream_9_5.json", tag: "Consistent" },
    { name: "the pending object, moved away", count: 4, keys: ["f/stream_1_4.json"], pending: "f/stream_9_5.json", tag: "Consistent" },
    { name: "another object than the pending one", count: 4, keys: ["f/stream_8_5.json"], pending: "f/stream_9_5.json", tag: "Inconsistent" }
  ])("folder check: $name", ({ count, keys, pending, tag }) => {
    assert.strictEqual(checkFolder("f/", count, keys, Option.fromUndefinedOr(pending))._tag, tag)
  })

  it("finds the highest object number of the folder, 0 for none", () => {
    assert.strictEqual(highestNumber("f/", ["f/stream_1_3.json", "f/stream_2_12.json", "f/sub/stream_3_40.json", "f/other.json"]), 12)
    assert.strictEqual(highestNumber("f/", []), 0)
  })

  it.effect("reads the event ids and objects of an object, and names the line it cannot read", () =>
    Effect.gen(function*() {
      const body = new TextEncoder().encode("{\"id\":\"1-0\",\"type\":\"create\",\"data\":{\"id\":\"malware--1\"}}\n{\"id\":\"2-0\"}\n")
      assert.deepStrictEqual(yield* objectEvents("k", body), [{ id: "1-0", object: "malware--1" }, { id: "2-0", object: "{\"id\":\"2-0\"}" }])
      const error = yield* Effect.flip(objectEvents("k", new TextEncoder().encode("{\"id\":\"1-0\"}\n{\"type\":\"create\"}\n")))
      assert.include(error.message, "k, line 2")
    }))
})
