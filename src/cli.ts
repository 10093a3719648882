import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { flushCompileCache } from "node:module"
import { fromVariables } from "./app/ConnectorChoice.js"
import { runConnector, startLogger } from "./app/runConnector.js"
import { exitOnSecondSignal, teardown } from "./app/shutdown.js"
import { layerProcess, layerSource, makeConfigSource } from "./config/ConfigSource.js"
import type { ConfigFile } from "./config/ConfigSource.js"
import type { ConfigurationError } from "./config/Setting.js"
import type { EffectiveConfiguration } from "./config/EffectiveConfiguration.js"
import type { OpenCtiConfig } from "./config/OpenCtiConfig.js"

/** What a connector's App module exports: its program and the configuration that program needs. */
interface ConnectorApp<R> {
  readonly run: Effect.Effect<void, unknown, OpenCtiConfig | R>
  readonly ConfigLayer: Layer.Layer<OpenCtiConfig | EffectiveConfiguration | R, unknown, ConfigFile>
  readonly connectorDefaults: { readonly name: string }
}

// Each connector loads only its own modules: a process runs one connector. Its configuration is read
// from the environment and config.yml only then, so that --help needs neither: `config` is
// `layerProcess` for a command, the source already read when the environment chose the connector.
const runApp = <R>(load: () => Promise<ConnectorApp<R>>) => (config: Layer.Layer<ConfigFile, ConfigurationError>) =>
  Effect.flatMap(
    // A connector whose code cannot be loaded (an incomplete dist/) would otherwise exit 1 without a word.
    Effect.promise(load).pipe(
      Effect.tapCause((cause) => Effect.logError("The connector's code could not be loaded from dist/", cause)),
      // The compile cache (see main.ts) is written at exit, which a connector stopped by SIGKILL never
      // reaches: its modules' compiled code is written once they are loaded.
      Effect.tap(() => Effect.sync(flushCompileCache))
    ),
    (app) => runConnector(app.run, Layer.provide(app.ConfigLayer, config), app.connectorDefaults.name))

const connectors = {
  "s3-import": {
    description: "Import STIX bundles from S3 prefixes into OpenCTI",
    run: runApp(() => import("./s3-import/S3ImportApp.js"))
  },
  "stream-export": {
    description: "Export an OpenCTI live stream to MinIO/S3 or a directory as numbered NDJSON objects",
    run: runApp(() => import("./stream-export/StreamExportApp.js"))
  },
  "stream-import": {
    description: "Import a stream exporter's objects, in order, into OpenCTI's queue",
    run: runApp(() => import("./stream-import/StreamImportApp.js"))
  }
}

/** Without a command, the connector the environment (over config.yml) asks for, as the Python images are run. */
const fromTheEnvironment = makeConfigSource(process.env).pipe(
  Effect.flatMap((source) => Effect.map(fromVariables(source.variables, connectors), (command) => ({ command, source }))),
  Effect.tapError((error) => Effect.logError(error.message)),
  Effect.provide(Layer.unwrap(startLogger("opencti-s3-connectors"))),
  Effect.flatMap(({ command, source }) => connectors[command].run(layerSource(source)))
)

Command.make("opencti-s3-connectors", {}, () => fromTheEnvironment).pipe(
  Command.withDescription("Runs the connector named by the command, or without one the connector the environment asks for"),
  Command.withSubcommands(Object.entries(connectors).map(([name, connector]) =>
    Command.make(name, {}, () => connector.run(layerProcess)).pipe(Command.withDescription(connector.description))
  )),
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  (program) => Effect.scoped(Effect.andThen(exitOnSecondSignal, program)),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
