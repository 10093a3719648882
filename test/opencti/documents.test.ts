import { assert, describe, it } from "vitest"
import { parse, validate } from "graphql"
import * as Documents from "../../src/opencti/documents.js"
import { connectorSchema } from "../support/opencti/schema.js"

const schema = connectorSchema()

const documents: Record<string, string> = {
  registerConnector: Documents.registerConnector,
  pingConnector: Documents.pingConnector,
  workAdd: Documents.workAdd,
  workToProcessed: Documents.workToProcessed,
  addExpectations: Documents.addExpectations,
  stixBundlePush: Documents.stixBundlePush,
  organizationAdd: Documents.organizationAdd,
  notesByAbstract: Documents.notesByAbstract,
  "vulnerabilitiesModifiedAt(1)": Documents.vulnerabilitiesModifiedAt(1),
  "vulnerabilitiesModifiedAt(250)": Documents.vulnerabilitiesModifiedAt(250)
}

describe("GraphQL documents", () => {
  it("covers every document the client module exports", () => {
    const exported = Object.keys(Documents).sort()
    const tested = [...new Set(Object.keys(documents).map((name) => name.replace(/\(.*\)$/, "")))].sort()
    assert.deepStrictEqual(tested, exported)
  })

  it.each(Object.entries(documents))("%s validates against the platform schema", (_, document) => {
    const errors = validate(schema, parse(document))
    assert.deepStrictEqual(errors.map((error) => error.message), [])
  })
})
