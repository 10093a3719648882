import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { eventMessage, messageBytes, parseLine, splitLines } from "../../src/stream-import/NdjsonLines.js"

const bytes = (text: string) => new TextEncoder().encode(text)

describe("NdjsonLines", () => {
  it.effect("splits on the bytes, across chunk boundaries, keeping every line's exact bytes and number", () =>
    Effect.gen(function*() {
      const text = "{\"a\":\"é\"}\n\n{\"b\":2}\r\n{\"c\":3}"
      const whole = bytes(text)
      // One byte at a time cuts the two-byte é in half.
      const lines = yield* Stream.runCollect(splitLines(Stream.fromIterable(Array.from(whole, (_, index) => whole.subarray(index, index + 1)))))
      assert.deepStrictEqual(lines.map((line) => [line.number, Buffer.from(line.bytes).toString("utf8")]), [[1, "{\"a\":\"é\"}"], [2, ""], [3, "{\"b\":2}\r"], [4, "{\"c\":3}"]])
    }))

  it("tells blank lines, events and lines that cannot be published apart", () => {
    const parse = (text: string | Uint8Array) => parseLine({ number: 1, bytes: typeof text === "string" ? bytes(text) : text })
    assert.deepStrictEqual(parse(" \r"), { _tag: "Blank" })
    assert.deepStrictEqual(parse("{\"id\":\"1-0\"}"), { _tag: "Event", event: { id: "1-0" } })
    assert.deepStrictEqual(parse("\"text\""), { _tag: "Invalid", reason: "it is JSON but not an object (string)" })
    assert.deepStrictEqual(parse("null"), { _tag: "Invalid", reason: "it is JSON but not an object (null)" })
    assert.strictEqual(parse("{\"id\":")._tag, "Invalid")
    assert.deepStrictEqual(parse(new Uint8Array([0x7b, 0xff, 0x7d])), { _tag: "Invalid", reason: "it is not UTF-8 text" })
  })

  it("makes the worker's event message, with the line's exact bytes in base64, and knows its size beforehand", () => {
    const line = { number: 1, bytes: bytes("{\"id\":\"1-0\",\"previous_standard\":\"malware--old\",\"n\":1.0}") }
    const event = { id: "1-0", previous_standard: "malware--old", n: 1 }
    const fields = { perfectSync: true, applicantId: "user-id" }
    const message = eventMessage(line, event, fields)
    assert.strictEqual(
      Buffer.from(message).toString("utf8"),
      `{"type":"event","synchronized":true,"update":true,"previous_standard":"malware--old","applicant_id":"user-id","content":"${Buffer.from(line.bytes).toString("base64")}"}`
    )
    assert.strictEqual(messageBytes(line, event, fields), message.byteLength)
  })
})
