import { buildSchema, type GraphQLSchema } from "graphql"
import { readFileSync } from "node:fs"

/** The connector-facing subset of the platform schema (test/fixtures). */
const SCHEMA_FILE = new URL("../../fixtures/opencti-connector-subset.graphql", import.meta.url)

let schema: GraphQLSchema | undefined

export const connectorSchema = (): GraphQLSchema => {
  schema ??= buildSchema(readFileSync(SCHEMA_FILE, "utf8"))
  return schema
}
