import { assert, describe, it } from "@effect/vitest"
import { Option, Result } from "effect"
import type { LiveEvent } from "../../src/opencti/LiveStream.js"
import { prepare, previousStandard, storedFiles, toExportLine, withFileContents } from "../../src/stream-export/ExportLine.js"
import type { ExportLine } from "../../src/stream-export/ExportLine.js"
import { OPENCTI_EXTENSION } from "../support/opencti/streamEvents.js"

const SCO = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

const live = (data: unknown, event = "create") => ({ id: "1700000000000-0", event, data: JSON.stringify(data) })

/** The line of an event without file contents; none for an event that is skipped. */
const lineOf = (event: LiveEvent) => {
  const prepared = prepare(event)
  return prepared._tag === "Unreadable" ? Option.none() : Option.some(Result.getOrThrow(toExportLine(prepared)))
}
const textOf = (line: ExportLine) => line.head + line.tail
const parsedLineOf = (event: LiveEvent) => Option.map(lineOf(event), (line) => JSON.parse(textOf(line)))

describe("ExportLine", () => {
  it("keeps the payload and sets id and type from the SSE event (not data.type)", () => {
    const line = parsedLineOf(live({ version: "4", type: "update", data: { id: "x" }, event_id: "e" }, "delete"))
    assert.deepStrictEqual(line, Option.some({ version: "4", type: "delete", data: { id: "x" }, event_id: "e", id: "1700000000000-0" }))
  })

  it("keeps the platform's text when the line only adds members, with the same members as a serialised line", () => {
    const data = `{"version":"4","type":"create","data":{"id":"x","n":12345678901234567890,"s":"\\u00e9"}}`
    const line = lineOf({ id: "1700000000000-0", event: "create", data })
    assert.deepStrictEqual(Option.map(line, textOf), Option.some(`${data.slice(0, -1)},"id":"1700000000000-0"}\n`))
    const patch = { reverse_patch: [{ op: "replace", path: "/id", value: "malware--old" }] }
    assert.deepStrictEqual(parsedLineOf(live({ type: "update", context: patch }, "update")), Option.some({ type: "update", context: patch, id: "1700000000000-0", previous_standard: "malware--old" }))
  })

  it.each([
    { name: "its own id", data: { type: "create", id: "platform-id" } },
    { name: "several data lines", data: "{\"type\":\n\"create\"}" },
    { name: "whitespace around it", data: " {\"type\":\"create\"} " }
  ])("writes one well-formed line for data with $name", ({ data }) => {
    const line = lineOf({ id: "1-0", event: "create", data: typeof data === "string" ? data : JSON.stringify(data) })
    const text = Option.getOrThrow(Option.map(line, textOf))
    assert.strictEqual(text.indexOf("\n"), text.length - 1)
    assert.deepStrictEqual(JSON.parse(text), { type: "create", id: "1-0" })
    assert.strictEqual(text.match(/"id"/g)?.length, 1)
  })

  it("keeps the exact text of numbers in a line it serialises again", () => {
    const data = "{\"type\":\"create\",\"id\":\"platform-id\",\"data\":{\"big\":12345678901234567890,\"huge\":1e400,\"zero\":-0,\"float\":1.0}}"
    const text = Option.getOrThrow(Option.map(lineOf({ id: "1-0", event: "create", data }), textOf))
    assert.strictEqual(text, "{\"type\":\"create\",\"id\":\"1-0\",\"data\":{\"big\":12345678901234567890,\"huge\":1e400,\"zero\":-0,\"float\":1.0}}\n")
  })

  it.each([
    { name: "nesting too deep to serialise", inner: `${"[".repeat(5000)}${"]".repeat(5000)}`, reason: "nested deeper than 1000 levels" },
    { name: "a member named twice", inner: "{\"name\":\"a\",\"name\":\"b\"}", reason: "the same member name twice" }
  ])("fails, instead of crashing or losing a member, on a line to serialise from data with $name", ({ inner, reason }) => {
    const prepared = prepare({ id: "1-0", event: "create", data: `{"type":"update","data":${inner}}` })
    assert.strictEqual(prepared._tag, "Prepared")
    const line = prepared._tag === "Prepared" ? toExportLine(prepared) : Result.succeed(undefined)
    assert.include(Result.isFailure(line) ? line.failure.message : "accepted", reason)
  })

  it("rejects data that is not a JSON object", () => {
    for (const data of ["[1,2]", "{not json", "null", "\"text\"", "1", "{} {}", ""]) {
      assert.isTrue(Option.isNone(lineOf({ id: "1-0", event: "create", data })), data)
    }
  })

  it.each([
    { name: "one /id operation", patch: [{ op: "replace", path: "/id", value: "vulnerability--old" }], value: Option.some("vulnerability--old"), ambiguous: false },
    { name: "no /id operation", patch: [{ op: "replace", path: "/name", value: "old" }], value: Option.none(), ambiguous: false },
    { name: "two /id operations", patch: [{ op: "replace", path: "/id", value: "a" }, { op: "replace", path: "/id", value: "b" }], value: Option.none(), ambiguous: true },
    { name: "a patch that is not a list", patch: "nonsense", value: Option.none(), ambiguous: false }
  ])("previous_standard: $name", ({ patch, value, ambiguous }) => {
    assert.deepStrictEqual(previousStandard({ context: { reverse_patch: patch } }), { value, ambiguous })
  })

  it("finds the files where pycti looks: the OpenCTI extension, then the SCO extension, then files", () => {
    const file = (name: string) => ({ name, uri: `/storage/get/import/${name}` })
    const both = { data: { extensions: { [OPENCTI_EXTENSION]: { files: [file("a")] }, [SCO]: { files: [file("b")] } }, files: [file("c")] } }
    assert.deepStrictEqual(storedFiles(both).files, [{ index: 0, path: "/storage/get/import/a" }])
    assert.deepStrictEqual(storedFiles({ data: { extensions: { [SCO]: { files: [file("b")] } } } }).location, ["data", "extensions", SCO, "files"])
    assert.deepStrictEqual(storedFiles({ data: { files: [file("c")] } }).files, [{ index: 0, path: "/storage/get/import/c" }])
    assert.deepStrictEqual(storedFiles({ data: {} }).files, [])
  })

  it("fetches only files served under storage/get, and a full URI by its storage/get path", () => {
    const files = [
      { name: "inline", uri: "unknown", data: "aGk=" },
      { name: "absolute", uri: "https://opencti.example/storage/get/import/x.pdf" },
      "not an object"
    ]
    assert.deepStrictEqual(storedFiles({ data: { extensions: { [OPENCTI_EXTENSION]: { files } } } }).files, [{ index: 1, path: "/storage/get/import/x.pdf" }])
  })

  it("inlines contents into the entries of that list only, leaving the rest of the line alone", () => {
    const line = { type: "create", data: { id: "x", extensions: { [OPENCTI_EXTENSION]: { id: "internal", files: [{ name: "a" }, { name: "b" }] } } } }
    const filled = withFileContents(line, ["data", "extensions", OPENCTI_EXTENSION, "files"], new Map([[1, "Yg=="]]))
    assert.deepStrictEqual(filled, { type: "create", data: { id: "x", extensions: { [OPENCTI_EXTENSION]: { id: "internal", files: [{ name: "a" }, { name: "b", data: "Yg==" }] } } } })
    assert.deepStrictEqual(line.data.extensions[OPENCTI_EXTENSION].files, [{ name: "a" }, { name: "b" }])
  })

  it("serialises one NDJSON line per event", () => {
    const line = Option.getOrThrow(lineOf({ id: "1-0", event: "merge", data: "{\"é\":\"ü\"}" }))
    assert.strictEqual(textOf(line), "{\"é\":\"ü\",\"id\":\"1-0\",\"type\":\"merge\"}\n")
    assert.deepStrictEqual([line.id, line.action], ["1-0", "merge"])
  })
})
