import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { runConnector } from "./app/runConnector.js"
import { exitOnSecondSignal, teardown } from "./app/shutdown.js"
import { layerProcess } from "./config/ConfigSource.js"
import * as S3ImportApp from "./s3-import/S3ImportApp.js"
import * as StreamExportApp from "./stream-export/StreamExportApp.js"

const s3Import = Command.make("s3-import", {}, () => runConnector(S3ImportApp.run, S3ImportApp.ConfigLayer, "S3")).pipe(
  Command.withDescription("Import STIX bundles from S3 prefixes into OpenCTI")
)

const streamExport = Command.make("stream-export", {}, () => runConnector(StreamExportApp.run, StreamExportApp.ConfigLayer, "StreamExporterConnector")).pipe(
  Command.withDescription("Export an OpenCTI live stream to MinIO/S3 as numbered NDJSON objects")
)

Command.make("opencti-s3-connectors").pipe(
  Command.withSubcommands([s3Import, streamExport]),
  Command.run({ version: "0.1.0" }),
  Effect.provide([NodeServices.layer, layerProcess]),
  Effect.andThen(Effect.void),
  (program) => Effect.scoped(Effect.andThen(exitOnSecondSignal, program)),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
