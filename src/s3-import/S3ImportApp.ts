import { Effect, Layer } from "effect"
import { amqpSettings } from "../amqp/AmqpConfig.js"
import { EffectiveConfiguration } from "../config/EffectiveConfiguration.js"
import { OpenCtiConfig, openCtiSettings } from "../config/OpenCtiConfig.js"
import * as Platform from "../connector/Platform.js"
import * as HelperMetrics from "../ops/HelperMetrics.js"
import * as OpsServer from "../ops/OpsServer.js"
import * as PlatformStateStore from "../state/PlatformStateStore.js"
import * as S3ObjectStorage from "../storage/S3ObjectStorage.js"
import * as ApiBundleSender from "./ApiBundleSender.js"
import * as Transforms from "./Transforms.js"
import { S3ImportConfig, s3ImportSettings } from "./S3ImportConfig.js"
import { S3Importer } from "./S3Importer.js"

export const connectorDefaults = { type: "EXTERNAL_IMPORT", name: "S3", scope: ["application/json"] } as const

/** The configuration of the S3 import, from the ConfigProvider in context. */
export const ConfigLayer = Layer.mergeAll(
  OpenCtiConfig.layer(connectorDefaults),
  S3ImportConfig.layer,
  EffectiveConfiguration.layer(openCtiSettings(connectorDefaults), s3ImportSettings, amqpSettings)
)

const StorageLayer = Layer.unwrap(Effect.map(S3ImportConfig, (config) => S3ObjectStorage.layer(config.storage)))

const OpsLayer = Layer.unwrap(Effect.map(S3ImportConfig, (config) => OpsServer.layer(config.storage.timeout)))

/** The AMQP sender (and the AMQP client with it) is loaded only by a connector that publishes to the broker. */
const SenderLayer = Layer.unwrap(Effect.flatMap(OpenCtiConfig, (config) =>
  config.queueProtocol === "amqp"
    ? Effect.map(Effect.promise(() => import("./AmqpBundleSender.js")), (module) => module.layer)
    : Effect.succeed(ApiBundleSender.layer)))

/** The importer with every real adapter; needs the platform and the configuration. */
export const ImporterLayer = S3Importer.layer.pipe(Layer.provide([StorageLayer, Transforms.layer, SenderLayer, PlatformStateStore.layer]))

/** Runs the S3 import until a cycle fails (or once, with CONNECTOR_RUN_AND_TERMINATE), next to the operations server. */
export const run = Effect.flatMap(S3Importer, (importer) => HelperMetrics.untilStopped(importer.run)).pipe(
  Effect.provide(Layer.merge(ImporterLayer, OpsLayer).pipe(Layer.provide(Platform.layer)))
)
