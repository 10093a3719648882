import { Context, Effect, Layer } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { OpenCti } from "../opencti/OpenCti.js"
import type { Registration } from "../opencti/OpenCti.js"

/** This connector as registered on the platform: registration happens once, when the layer is built. */
export class Connector extends Context.Service<Connector, Registration>()("opencti-connectors/connector/Connector") {
  static readonly layer = Layer.effect(
    Connector,
    Effect.gen(function*() {
      const config = yield* OpenCtiConfig
      const registration = yield* (yield* OpenCti).register
      yield* Effect.logInfo("Connector registered with ID").pipe(Effect.annotateLogs({ id: config.connectorId, type: config.connectorType }))
      return Connector.of(registration)
    })
  )
}
