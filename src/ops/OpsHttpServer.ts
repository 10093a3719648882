import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import type { OpenCtiConfigShape } from "../config/OpenCtiConfig.js"
import { ConfigurationError } from "../config/Setting.js"
import { Progress } from "./Progress.js"

const healthRoutes = (connectorId: string, stallAfter: Duration.Duration) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const progress = yield* Progress
      // Alive while the process serves requests: a failed connector exits instead of lingering.
      yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
      // Ready once registered (this layer is only built after the registration) and while its work
      // advances: work that has not moved for longer than any single call may take is stalled.
      yield* router.add(
        "GET",
        "/readyz",
        Effect.map(progress.stalledFor, (stalled) =>
          Option.isSome(stalled) && Duration.isGreaterThan(stalled.value, stallAfter)
            ? HttpServerResponse.text(`stalled: no progress for ${Duration.format(stalled.value)} (limit ${Duration.format(stallAfter)})`, { status: 503 })
            : HttpServerResponse.text(`ready: ${connectorId}`))
      )
    }))

/**
 * The HTTP server of OpsServer.ts, in a module of its own that is loaded only when the server is on:
 * `/healthz` and `/readyz`, and `/metrics` with CONNECTOR_EXPOSE_METRICS=true. `stallAfter` is how long
 * work may go without progress before `/readyz` calls the connector stalled.
 */
export const layer = (config: OpenCtiConfigShape, stallAfter: Duration.Duration) => {
  const metrics = config.exposeMetrics
    ? PrometheusMetrics.layerHttp({ path: "/metrics", ...(config.metricsPrefix === "" ? {} : { prefix: config.metricsPrefix }) })
    : Layer.empty
  return HttpRouter.serve(Layer.mergeAll(healthRoutes(config.connectorId, stallAfter), metrics), { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.metricsPort })),
    Layer.catchTag("ServeError", (error) =>
      Layer.effectDiscard(Effect.fail(
        new ConfigurationError({
          variable: "CONNECTOR_METRICS_PORT",
          message: `CONNECTOR_METRICS_PORT=${config.metricsPort}: cannot listen (${error.cause instanceof Error ? error.cause.message : String(error.cause)}): ` +
            "give each connector on this host a port of its own, or 0 to turn the health and metrics server off"
        })
      ))),
    Layer.tap(() => Effect.logInfo("Operations server listening").pipe(Effect.annotateLogs({ port: config.metricsPort, metrics: config.exposeMetrics })))
  )
}
