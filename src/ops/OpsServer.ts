import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { ConfigurationError } from "../config/Setting.js"
import { Connector } from "../connector/Connector.js"
import * as HelperMetrics from "./HelperMetrics.js"
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
 * The operations server on CONNECTOR_METRICS_PORT: `/healthz` and `/readyz` with
 * CONNECTOR_EXPOSE_HEALTH=true or CONNECTOR_EXPOSE_METRICS=true, `/metrics` (Prometheus text from
 * Effect's metric registry) with the latter. Nothing is bound otherwise, so that connectors run side by
 * side on one host with their default settings; port 0 turns the server off.
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
      const stallAfter = Duration.max(config.requestTimeout, storageTimeout)
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
    })
  )
