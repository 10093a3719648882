import { Effect, Layer } from "effect"
import { amqpSettings } from "../amqp/AmqpConfig.js"
import * as RegisteredPublisher from "../connector/RegisteredPublisher.js"
import { EffectiveConfiguration } from "../config/EffectiveConfiguration.js"
import { OpenCtiConfig, openCtiSettings } from "../config/OpenCtiConfig.js"
import * as Platform from "../connector/Platform.js"
import * as HelperMetrics from "../ops/HelperMetrics.js"
import * as OpsServer from "../ops/OpsServer.js"
import * as PlatformStateStore from "../state/PlatformStateStore.js"
import * as FileSystemObjectStorage from "../storage/FileSystemObjectStorage.js"
import * as S3ObjectStorage from "../storage/S3ObjectStorage.js"
import { callTimeout } from "../storage/StorageTarget.js"
import { StreamImportConfig, streamImportSettings } from "./StreamImportConfig.js"
import { StreamImporter } from "./StreamImporter.js"

export const connectorDefaults = { type: "EXTERNAL_IMPORT", name: "StreamImporterConnector", scope: ["stream-importer"] } as const

/** The configuration of the stream importer, from the ConfigProvider in context. */
export const ConfigLayer = Layer.merge(
  StreamImportConfig.layer.pipe(Layer.provideMerge(OpenCtiConfig.layer(connectorDefaults))),
  EffectiveConfiguration.layer(openCtiSettings(connectorDefaults), streamImportSettings, amqpSettings)
)

/** MinIO/S3, or the directory of the file-system transport. */
const StorageLayer = Layer.unwrap(Effect.map(StreamImportConfig, (config) =>
  config.storage._tag === "S3" ? S3ObjectStorage.layer(config.storage.options) : FileSystemObjectStorage.layer))

const OpsLayer = Layer.unwrap(Effect.map(StreamImportConfig, (config) => OpsServer.layer(callTimeout(config.storage))))

/** The importer with every real adapter; needs the platform and the configuration. */
export const ImporterLayer = StreamImporter.layer.pipe(Layer.provide([StorageLayer, RegisteredPublisher.layer, PlatformStateStore.layer]))

/** Runs the stream importer until a cycle fails (or once, with CONNECTOR_RUN_AND_TERMINATE), next to the operations server. */
export const run = Effect.flatMap(StreamImporter, (importer) => HelperMetrics.untilStopped(importer.run)).pipe(
  Effect.provide(Layer.merge(ImporterLayer, OpsLayer).pipe(Layer.provide(Platform.layer)))
)
