import { Effect, Schema } from "effect"

const StreamImportPhase = Schema.Literals(["state", "bucket", "list", "order", "read", "validate", "publish", "move", "work"])
export type StreamImportPhase = typeof StreamImportPhase.Type

/** Why the stream importer stopped: the phase, the object key and line in play, and the cause. */
export class StreamImportError extends Schema.TaggedError<StreamImportError>()("StreamImportError", {
  phase: StreamImportPhase,
  key: Schema.optional(Schema.String),
  line: Schema.optional(Schema.Number),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** The StreamImportError of a failure `cause` in `phase`, naming the key in play. */
export const phaseError = (phase: StreamImportPhase, key: string | undefined, cause: { readonly message: string }): StreamImportError =>
  new StreamImportError({
    phase,
    ...(key === undefined ? {} : { key }),
    message: `${phase} failed${key === undefined ? "" : ` for ${key}`}: ${cause.message}`,
    cause
  })

/** Maps any failure of `self` into a StreamImportError of `phase`, naming the key in play. */
export const inPhase = (phase: StreamImportPhase, key?: string) =>
  <A, E extends { readonly message: string }, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, StreamImportError, R> =>
    Effect.mapError(self, (cause) => phaseError(phase, key, cause))
