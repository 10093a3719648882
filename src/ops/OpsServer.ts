import { Duration, Effect, Layer } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { Connector } from "../connector/Connector.js"
import * as HelperMetrics from "./HelperMetrics.js"

/**
 * The operations server on CONNECTOR_METRICS_PORT: `/healthz` and `/readyz` with
 * CONNECTOR_EXPOSE_HEALTH=true or CONNECTOR_EXPOSE_METRICS=true, `/metrics` (Prometheus text from
 * Effect's metric registry) with the latter. Nothing is bound otherwise, so that connectors run side by
 * side on one host with their default settings; port 0 turns the server off. The HTTP server's code
 * (OpsHttpServer.ts, with Node's HTTP server and its WebSocket support) is loaded only when it is on.
 *
 * `storageTimeout` is the object store's call timeout: with the platform's, it sets how long work may
 * go without progress before `/readyz` calls the connector stalled.
 */
export const layer = (storageTimeout: Duration.Duration) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const config = yield* OpenCtiConfig
      yield* Connector
      if (config.metricsPort === 0 || !(config.exposeHealth || config.exposeMetrics)) return Layer.empty
      if (config.exposeMetrics) yield* HelperMetrics.initial
      const server = yield* Effect.promise(() => import("./OpsHttpServer.js"))
      return server.layer(config, Duration.max(config.requestTimeout, storageTimeout))
    })
  )
