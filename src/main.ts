import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { runConnector } from "./app/runConnector.js"
import { exitOnSecondSignal, teardown } from "./app/shutdown.js"
import { layerProcess } from "./config/ConfigSource.js"
import type { ConfigFile } from "./config/ConfigSource.js"
import type { EffectiveConfiguration } from "./config/EffectiveConfiguration.js"
import type { OpenCtiConfig } from "./config/OpenCtiConfig.js"

/** What a connector's App module exports: its program and the configuration that program needs. */
interface ConnectorApp<R> {
  readonly run: Effect.Effect<void, unknown, OpenCtiConfig | R>
  readonly ConfigLayer: Layer.Layer<OpenCtiConfig | EffectiveConfiguration | R, unknown, ConfigFile>
  readonly connectorDefaults: { readonly name: string }
}

// Each command loads only its own connector's modules: a process runs one connector. Its configuration
// is read from the environment and config.yml only then, so that --help needs neither.
const connectorCommand = <R>(name: string, description: string, load: () => Promise<ConnectorApp<R>>) =>
  Command.make(name, {}, () =>
    Effect.flatMap(Effect.promise(load), (app) => runConnector(app.run, Layer.provide(app.ConfigLayer, layerProcess), app.connectorDefaults.name))
  ).pipe(Command.withDescription(description))

const s3Import = connectorCommand("s3-import", "Import STIX bundles from S3 prefixes into OpenCTI", () => import("./s3-import/S3ImportApp.js"))
const streamExport = connectorCommand("stream-export", "Export an OpenCTI live stream to MinIO/S3 or a directory as numbered NDJSON objects", () => import("./stream-export/StreamExportApp.js"))
const streamImport = connectorCommand("stream-import", "Import a stream exporter's objects, in order, into OpenCTI's queue", () => import("./stream-import/StreamImportApp.js"))

Command.make("opencti-s3-connectors").pipe(
  Command.withSubcommands([s3Import, streamExport, streamImport]),
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  (program) => Effect.scoped(Effect.andThen(exitOnSecondSignal, program)),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
