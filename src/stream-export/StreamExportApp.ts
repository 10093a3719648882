import { Effect, Layer } from "effect"
import { EffectiveConfiguration } from "../config/EffectiveConfiguration.js"
import { OpenCtiConfig, openCtiSettings } from "../config/OpenCtiConfig.js"
import * as Platform from "../connector/Platform.js"
import { LiveStream } from "../opencti/LiveStream.js"
import * as HelperMetrics from "../ops/HelperMetrics.js"
import * as OpsServer from "../ops/OpsServer.js"
import * as PlatformStateStore from "../state/PlatformStateStore.js"
import * as FileSystemObjectStorage from "../storage/FileSystemObjectStorage.js"
import * as S3ObjectStorage from "../storage/S3ObjectStorage.js"
import { callTimeout } from "../storage/StorageTarget.js"
import { StreamExportConfig, streamExportSettings } from "./StreamExportConfig.js"
import { StreamExporter } from "./StreamExporter.js"

export const connectorDefaults = { type: "STREAM", name: "StreamExporterConnector", scope: ["stream-exporter"], logLevel: "info" } as const

/** The configuration of the stream exporter, from the ConfigProvider in context. */
export const ConfigLayer = Layer.mergeAll(
  OpenCtiConfig.layer(connectorDefaults),
  StreamExportConfig.layer,
  EffectiveConfiguration.layer(openCtiSettings(connectorDefaults), streamExportSettings)
)

/** MinIO/S3, or the directory of the file-system transport. */
const StorageLayer = Layer.unwrap(Effect.map(StreamExportConfig, (config) =>
  config.storage._tag === "S3" ? S3ObjectStorage.layer(config.storage.options) : FileSystemObjectStorage.layer))

const OpsLayer = Layer.unwrap(Effect.map(StreamExportConfig, (config) => OpsServer.layer(callTimeout(config.storage))))

const LiveStreamLayer = Layer.unwrap(Effect.map(StreamExportConfig, (config) => LiveStream.layer(config.liveStream)))

/** The exporter with every real adapter; needs the platform and the configuration. */
const ExporterLayer = StreamExporter.layer.pipe(Layer.provide([StorageLayer, LiveStreamLayer, PlatformStateStore.layer]))

/** Runs the stream exporter until it fails or is stopped, next to the operations server. */
export const run = Effect.flatMap(StreamExporter, (exporter) => HelperMetrics.untilStopped(HelperMetrics.asRun(exporter.run))).pipe(
  Effect.provide(Layer.merge(ExporterLayer, OpsLayer).pipe(Layer.provide(Platform.layer)))
)
