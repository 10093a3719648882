import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { baseLine, previousStandard, storedFiles, toExportLine, withFileContents } from "../../src/stream-export/ExportLine.js"

const OCTI = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
const SCO = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

const live = (data: unknown, event = "create") => ({ id: "1700000000000-0", event, data: JSON.stringify(data) })

describe("ExportLine", () => {
  it("keeps the payload and sets id and type from the SSE event (not data.type)", () => {
    const line = baseLine(live({ version: "4", type: "update", data: { id: "x" }, event_id: "e" }, "delete"))
    assert.deepStrictEqual(line, Option.some({ version: "4", type: "delete", data: { id: "x" }, event_id: "e", id: "1700000000000-0" }))
  })

  it("rejects data that is not a JSON object", () => {
    assert.isTrue(Option.isNone(baseLine(live([1, 2]))))
    assert.isTrue(Option.isNone(baseLine({ id: "1-0", event: "create", data: "{not json" })))
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
    const both = { data: { extensions: { [OCTI]: { files: [file("a")] }, [SCO]: { files: [file("b")] } }, files: [file("c")] } }
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
    assert.deepStrictEqual(storedFiles({ data: { extensions: { [OCTI]: { files } } } }).files, [{ index: 1, path: "/storage/get/import/x.pdf" }])
  })

  it("inlines contents into the entries of that list only, leaving the rest of the line alone", () => {
    const line = { type: "create", data: { id: "x", extensions: { [OCTI]: { id: "internal", files: [{ name: "a" }, { name: "b" }] } } } }
    const filled = withFileContents(line, ["data", "extensions", OCTI, "files"], new Map([[1, "Yg=="]]))
    assert.deepStrictEqual(filled, { type: "create", data: { id: "x", extensions: { [OCTI]: { id: "internal", files: [{ name: "a" }, { name: "b", data: "Yg==" }] } } } })
    assert.deepStrictEqual(line.data.extensions[OCTI].files, [{ name: "a" }, { name: "b" }])
  })

  it("serialises one NDJSON line per event", () => {
    const line = toExportLine({ id: "1-0", event: "merge", data: "{}" }, { é: "ü", id: "1-0" })
    assert.strictEqual(line.text, "{\"é\":\"ü\",\"id\":\"1-0\"}\n")
    assert.strictEqual(line.bytes, line.text.length + 2)
    assert.deepStrictEqual([line.id, line.action], ["1-0", "merge"])
  })
})
