import { Context, Effect, Layer, Schema } from "effect"
import { OpenCti } from "../opencti/OpenCti.js"
import type { StixBundle } from "../stix/Bundle.js"

export class SendError extends Schema.TaggedError<SendError>()("SendError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Delivers a bundle to the platform within a work; success means the platform (or its queue) confirmed it. */
export class BundleSender extends Context.Service<BundleSender, {
  readonly send: (bundle: StixBundle, workId: string) => Effect.Effect<void, SendError>
}>()("opencti-connectors/s3-import/BundleSender") {
  /** `CONNECTOR_QUEUE_PROTOCOL=api`: the whole bundle through `stixBundlePush`. */
  static readonly layerApi = Layer.effect(
    BundleSender,
    Effect.map(OpenCti, (openCti) =>
      BundleSender.of({
        send: (bundle, workId) =>
          openCti.pushBundle(JSON.stringify(bundle), workId).pipe(
            Effect.mapError((error) => new SendError({ message: `stixBundlePush: ${error.message}`, cause: error }))
          )
      }))
  )
}
