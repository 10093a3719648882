import { Schema } from "effect"

/** A failed exchange with the platform: the operation, the HTTP status or GraphQL code, and whether a retry may help. */
export class OpenCtiError extends Schema.TaggedError<OpenCtiError>()("OpenCtiError", {
  operation: Schema.String,
  status: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.String),
  retryable: Schema.Boolean,
  message: Schema.String
}) {}
