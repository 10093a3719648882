import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { checkFolder, fileNumberOf, objectIds, objectKey } from "../../src/stream-export/ExportObjects.js"

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
    { name: "objects without any state", count: 0, keys: ["f/stream_1_1.json", "f/stream_2_2.json"], tag: "Inconsistent" }
  ])("folder check: $name", ({ count, keys, tag }) => {
    assert.strictEqual(checkFolder("f/", count, keys)._tag, tag)
  })

  it.effect("reads the event ids of an object, and names the line it cannot read", () =>
    Effect.gen(function*() {
      const body = new TextEncoder().encode("{\"id\":\"1-0\",\"type\":\"create\"}\n{\"id\":\"2-0\"}\n")
      assert.deepStrictEqual(yield* objectIds("k", body), ["1-0", "2-0"])
      const error = yield* Effect.flip(objectIds("k", new TextEncoder().encode("{\"id\":\"1-0\"}\n{\"type\":\"create\"}\n")))
      assert.include(error.message, "k, line 2")
    }))
})
