import { Effect, Predicate, Schema } from "effect"

const ImportPhase = Schema.Literals(["list", "fetch", "parse", "transform", "send", "delete", "state", "work", "quarantine"])
export type ImportPhase = typeof ImportPhase.Type

/** Why an import cycle stopped: the phase, the bucket and the key in play, and the cause. */
export class ImportError extends Schema.TaggedError<ImportError>()("ImportError", {
  phase: ImportPhase,
  bucket: Schema.String,
  prefix: Schema.String,
  key: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export interface ImportLocation {
  readonly bucket: string
  readonly prefix: string
  readonly key?: string
}

/** The ImportError of a failure `cause` in `phase` at `location`. */
export const importError = (phase: ImportPhase, location: ImportLocation, cause: { readonly message: string }): ImportError =>
  new ImportError({
    phase,
    bucket: location.bucket,
    prefix: location.prefix,
    ...(location.key === undefined ? {} : { key: location.key }),
    message: `${phase} failed for s3://${location.bucket}/${location.key ?? location.prefix}: ${cause.message}`,
    cause
  })

/** Maps any failure of `self` into an ImportError of `phase` at `location`. */
export const inPhase = (phase: ImportPhase, location: ImportLocation) =>
  <A, E extends { readonly message: string }, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, ImportError, R> =>
    Effect.mapError(self, (cause) => importError(phase, location, cause))

/**
 * `inPhase` for code that reads untrusted input: an exception it throws (a stack overflow on absurd
 * nesting, a string past the engine's limit) is a failure of the phase at `location`, not a defect.
 */
export const inInputPhase = (phase: ImportPhase, location: ImportLocation) =>
  <A, E extends { readonly message: string }, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, ImportError, R> =>
    self.pipe(
      Effect.catchDefect((defect) => Effect.fail(Predicate.isError(defect) ? defect : new Error(String(defect)))),
      inPhase(phase, location)
    )
