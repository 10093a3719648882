import { Effect, Layer } from "effect"
import { OpenCti } from "../opencti/OpenCti.js"
import { BundleSender, SendError } from "./BundleSender.js"

/** `CONNECTOR_QUEUE_PROTOCOL=api`: the whole bundle through `stixBundlePush`. */
export const layer = Layer.effect(
  BundleSender,
  Effect.map(OpenCti, (openCti) =>
    BundleSender.of({
      send: (bundle, workId) =>
        openCti.pushBundle(JSON.stringify(bundle), workId).pipe(
          Effect.mapError((error) => new SendError({ message: `stixBundlePush: ${error.message}`, cause: error }))
        )
    }))
)
