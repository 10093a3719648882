import { assert, describe, it } from "vitest"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { readmeTable } from "./readmeTables.js"

const compose = parse(readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8"), { merge: true }) as {
  services: Record<string, { environment?: Record<string, unknown> }>
}

const tableVariables = (name: string): ReadonlyArray<string> => [...readmeTable(name).keys()]

const environmentOf = (service: string): ReadonlyArray<string> => Object.keys(compose.services[service]?.environment ?? {})

describe("docker-compose.yml", () => {
  it("sets every variable of the S3 import on its connector", () => {
    const expected = [...tableVariables("common"), ...tableVariables("s3-import"), ...tableVariables("amqp")].filter((name) => name !== "CONFIG_FILE")
    assert.includeMembers([...environmentOf("connector-s3-import")], expected)
  })

  it("sets every variable of the stream exporter on its connector", () => {
    const common = tableVariables("common").filter((name) => !["CONFIG_FILE", "CONNECTOR_RUN_AND_TERMINATE", "CONNECTOR_QUEUE_PROTOCOL"].includes(name))
    assert.includeMembers([...environmentOf("connector-stream-export")], [...common, ...tableVariables("stream-export")])
  })

  it("sets every variable of the stream importer on its connector, on platform B", () => {
    const common = tableVariables("common").filter((name) => name !== "CONFIG_FILE")
    assert.includeMembers([...environmentOf("connector-stream-import")], [...common, ...tableVariables("stream-import"), ...tableVariables("amqp")])
    assert.strictEqual(compose.services["connector-stream-import"]?.environment?.["OPENCTI_URL"], "http://opencti-b:8080")
  })
})
