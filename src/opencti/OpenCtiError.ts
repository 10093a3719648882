import { Schema } from "effect"

const OpenCtiOperation = Schema.Literals([
  "registerConnector",
  "pingConnector",
  "workAdd",
  "workToProcessed",
  "addExpectations",
  "stixBundlePush",
  "organizationAdd",
  "vulnerabilities",
  "notes",
  "download"
])
export type OpenCtiOperation = typeof OpenCtiOperation.Type

/** A failed exchange with the platform: the operation, the HTTP status or GraphQL code, and whether a retry may help. */
export class OpenCtiError extends Schema.TaggedError<OpenCtiError>()("OpenCtiError", {
  operation: OpenCtiOperation,
  status: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.String),
  retryable: Schema.Boolean,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}
