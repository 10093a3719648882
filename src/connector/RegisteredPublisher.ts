import { Effect, Layer } from "effect"
import { AmqpConfig, resolveEndpoint } from "../amqp/AmqpConfig.js"
import { AmqpPublisher } from "../amqp/AmqpPublisher.js"
import { Connector } from "./Connector.js"

/** The publisher for the broker the platform returned at registration, with the `MQ_*` overrides. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const registration = yield* Connector
  return AmqpPublisher.layer(resolveEndpoint(registration.connection, yield* AmqpConfig))
})).pipe(Layer.provide(AmqpConfig.layer))
