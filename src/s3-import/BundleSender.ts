import { Context, Effect, Schema } from "effect"
import type { StixBundle } from "../stix/Bundle.js"

export class SendError extends Schema.TaggedError<SendError>()("SendError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Delivers a bundle to the platform within a work; success means the platform (or its queue) confirmed it. */
export class BundleSender extends Context.Service<BundleSender, {
  readonly send: (bundle: StixBundle, workId: string) => Effect.Effect<void, SendError>
}>()("opencti-connectors/s3-import/BundleSender") {}
