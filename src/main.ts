import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { runConnector } from "./app/runConnector.js"
import { exitOnSecondSignal, teardown } from "./app/shutdown.js"
import { layerProcess } from "./config/ConfigSource.js"

// Each command loads only its own connector's modules: a process runs one connector. Its configuration
// is read from the environment and config.yml only then, so that --help needs neither.
const s3Import = Command.make("s3-import", {}, () =>
  Effect.flatMap(
    Effect.promise(() => import("./s3-import/S3ImportApp.js")),
    (app) => runConnector(app.run, Layer.provide(app.ConfigLayer, layerProcess), app.connectorDefaults.name)
  )
).pipe(Command.withDescription("Import STIX bundles from S3 prefixes into OpenCTI"))

const streamExport = Command.make("stream-export", {}, () =>
  Effect.flatMap(
    Effect.promise(() => import("./stream-export/StreamExportApp.js")),
    (app) => runConnector(app.run, Layer.provide(app.ConfigLayer, layerProcess), app.connectorDefaults.name)
  )
).pipe(Command.withDescription("Export an OpenCTI live stream to MinIO/S3 as numbered NDJSON objects"))

Command.make("opencti-s3-connectors").pipe(
  Command.withSubcommands([s3Import, streamExport]),
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  (program) => Effect.scoped(Effect.andThen(exitOnSecondSignal, program)),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
