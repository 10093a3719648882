import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { Connector } from "../connector/Connector.js"
import * as HelperMetrics from "./HelperMetrics.js"

const healthRoutes = (connectorId: string) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      // Alive while the process serves requests: a failed connector exits instead of lingering.
      yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
      // Ready once registered: this layer is only built after the registration.
      yield* router.add("GET", "/readyz", HttpServerResponse.text(`ready: ${connectorId}`))
    }))

/**
 * The operations server on CONNECTOR_METRICS_PORT: `/healthz` and `/readyz` always, `/metrics`
 * (Prometheus text from Effect's metric registry) with CONNECTOR_EXPOSE_METRICS=true. Port 0 turns it off.
 */
export const layer = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* OpenCtiConfig
    yield* Connector
    if (config.metricsPort === 0) return Layer.empty
    if (config.exposeMetrics) yield* HelperMetrics.initial
    const metrics = config.exposeMetrics
      ? PrometheusMetrics.layerHttp({ path: "/metrics", ...(config.metricsPrefix === "" ? {} : { prefix: config.metricsPrefix }) })
      : Layer.empty
    return HttpRouter.serve(Layer.mergeAll(healthRoutes(config.connectorId), metrics), { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: config.metricsPort })),
      Layer.tap(() => Effect.logInfo("Operations server listening").pipe(Effect.annotateLogs({ port: config.metricsPort, metrics: config.exposeMetrics })))
    )
  })
)
