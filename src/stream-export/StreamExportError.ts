import { Effect, Schema } from "effect"

const ExportPhase = Schema.Literals(["state", "bucket", "reconcile", "enrich", "write", "commit"])
export type ExportPhase = typeof ExportPhase.Type

/** Why the exporter stopped: the phase, the object key or event id in play, and the cause. */
export class StreamExportError extends Schema.TaggedError<StreamExportError>()("StreamExportError", {
  phase: ExportPhase,
  key: Schema.optional(Schema.String),
  eventId: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export interface ExportLocation {
  readonly key?: string
  readonly eventId?: string
}

/** Maps any failure of `self` into a StreamExportError of `phase`, naming the key or event in play. */
export const inPhase = (phase: ExportPhase, location: ExportLocation = {}) =>
  <A, E extends { readonly message: string }, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, StreamExportError, R> =>
    Effect.mapError(self, (cause) =>
      new StreamExportError({
        phase,
        ...location,
        message: `${phase} failed${location.key === undefined ? "" : ` for ${location.key}`}${location.eventId === undefined ? "" : ` at event ${location.eventId}`}: ${cause.message}`,
        cause
      }))
