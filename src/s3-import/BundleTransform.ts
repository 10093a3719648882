import { Context, Effect, Option, Schema } from "effect"
import type { StixBundle } from "../stix/Bundle.js"

/** The file a bundle came from, for transforms that attach it. */
export interface SourceFile {
  readonly key: string
  readonly bytes: Uint8Array
}

export class TransformError extends Schema.TaggedError<TransformError>()("TransformError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Rewrites a bundle before it is sent, as the configured profile (S3_TRANSFORM) says. `None` means there
 * is nothing left to send (no objects, or everything filtered out): the file still counts as imported.
 */
export class BundleTransform extends Context.Service<BundleTransform, {
  readonly apply: (bundle: StixBundle, source: SourceFile) => Effect.Effect<Option.Option<StixBundle>, TransformError>
}>()("opencti-connectors/s3-import/BundleTransform") {}
