import { Context, DateTime, Duration, Effect, Layer, Option } from "effect"
import { ConfigurationError, invalid, readSettings, Setting } from "../config/Setting.js"
import type { LiveStreamOptions } from "../opencti/LiveStream.js"
import { beginning } from "../opencti/LiveStreamId.js"
import { chooseTarget, normalizeFolder } from "../storage/StorageTarget.js"
import type { StorageTarget } from "../storage/StorageTarget.js"
import { disablesRecovery } from "./ExportCursor.js"
import type { FirstStart } from "./ExportCursor.js"

/** The variables of the stream exporter (besides the OpenCTI ones). */
export const streamExportSettings = {
  streamId: Setting.optionalString("CONNECTOR_LIVE_STREAM_ID"),
  startTimestamp: Setting.optionalInteger("CONNECTOR_LIVE_STREAM_START_TIMESTAMP", 0),
  recoverIsoDate: Setting.optionalString("CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE"),
  listenDelete: Setting.boolean("CONNECTOR_LIVE_STREAM_LISTEN_DELETE", true),
  noDependencies: Setting.boolean("CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES", true),
  withInferences: Setting.boolean("CONNECTOR_LIVE_STREAM_WITH_INFERENCES", false),
  watchdog: Setting.seconds("CONNECTOR_LIVE_STREAM_WATCHDOG_SEC", 60),
  consumerCount: Setting.integer("CONNECTOR_CONSUMER_COUNT", { default: 1, min: 1, max: 64 }),
  // Inlined as base64, a file must stay under V8's longest string (about 2^29 characters).
  maxFileBytes: Setting.integer("EXPORT_MAX_FILE_BYTES", { default: 100 * 1024 * 1024, min: 1, max: 400_000_000 }),
  queueSize: Setting.integer("QUEUE_SIZE", { default: 1000, min: 1 }),
  endpoint: Setting.optionalString("MINIO_ENDPOINT"),
  port: Setting.optionalInteger("MINIO_PORT", 1),
  region: Setting.string("MINIO_REGION", { default: "us-east-1" }),
  bucket: Setting.optionalString("MINIO_BUCKET"),
  folder: Setting.optionalString("MINIO_FOLDER"),
  accessKey: Setting.optionalString("MINIO_ACCESS_KEY"),
  secretKey: Setting.optionalRedacted("MINIO_SECRET_KEY"),
  secure: Setting.boolean("MINIO_SECURE", false),
  certCheck: Setting.boolean("MINIO_CERT_CHECK", true),
  requestTimeout: Setting.seconds("MINIO_REQUEST_TIMEOUT_SEC", 120),
  writeEvery: Setting.seconds("WRITE_EVERY_SEC", 60),
  maxEvents: Setting.integer("WRITE_MAX_EVENTS", { default: 5000, min: 1 }),
  maxBytes: Setting.integer("WRITE_MAX_BYTES", { default: 32 * 1024 * 1024, min: 1024 }),
  directory: Setting.optionalString("EXPORT_DIRECTORY")
}

export interface StreamExportConfigShape {
  readonly storage: StorageTarget
  /** The bucket, or with EXPORT_DIRECTORY the directory. */
  readonly bucket: string
  /** The key prefix of the objects, `""` or ending with `/`. */
  readonly folder: string
  readonly liveStream: LiveStreamOptions
  readonly firstStart: FirstStart
  readonly consumerCount: number
  /** The largest file inlined into a line (EXPORT_MAX_FILE_BYTES); a larger one stops the exporter before its event. */
  readonly maxFileBytes: number
  readonly writeEvery: Duration.Duration
  readonly maxEvents: number
  readonly maxBytes: number
}

const readRecoverDate = (value: Option.Option<string>): Effect.Effect<Option.Option<string | false>, ConfigurationError> => {
  if (Option.isNone(value)) return Effect.succeed(Option.none())
  if (disablesRecovery(value.value)) return Effect.succeed(Option.some(false))
  return Option.isSome(DateTime.make(value.value))
    ? Effect.succeed(Option.some(value.value))
    : Effect.fail(invalid("CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE", value.value, "an ISO 8601 date (e.g. 2024-05-01T10:00:00Z) or false"))
}

/** MINIO_BUCKET is required with MinIO/S3; with a directory, the directory is the bucket. */
const bucketOf = (storage: StorageTarget, bucket: Option.Option<string>): Effect.Effect<string, ConfigurationError> =>
  storage._tag === "Directory"
    ? Effect.succeed(storage.path)
    : Option.match(bucket, {
      onNone: () => Effect.fail(new ConfigurationError({ variable: "MINIO_BUCKET", message: "MINIO_BUCKET is required: expected the name of the bucket to write to" })),
      onSome: Effect.succeed
    })

/** MINIO_FOLDER as a key prefix; a `..`, `.` or empty segment would name another place than it reads (outside the directory, with EXPORT_DIRECTORY). */
const readFolder = (folder: Option.Option<string>): Effect.Effect<string, ConfigurationError> => {
  const normalized = normalizeFolder(folder)
  return normalized.split("/").slice(0, -1).some((segment) => segment === "" || segment === "." || segment === "..")
    ? Effect.fail(invalid("MINIO_FOLDER", Option.getOrElse(folder, () => ""), "a key prefix such as exports/opencti, without empty, . or .. segments"))
    : Effect.succeed(normalized)
}

export class StreamExportConfig extends Context.Service<StreamExportConfig, StreamExportConfigShape>()("opencti-connectors/stream-export/StreamExportConfig") {
  static readonly layer = Layer.effect(
    StreamExportConfig,
    Effect.gen(function*() {
      const values = yield* readSettings(streamExportSettings)
      const storage = yield* chooseTarget("EXPORT_DIRECTORY", values.directory, values)
      const bucket = yield* bucketOf(storage, values.bucket)
      const recoverUntil = yield* readRecoverDate(values.recoverIsoDate)
      const folder = yield* readFolder(values.folder)
      return StreamExportConfig.of({
        storage,
        bucket,
        folder,
        liveStream: {
          streamId: values.streamId,
          listenDelete: values.listenDelete,
          noDependencies: values.noDependencies,
          withInferences: values.withInferences,
          watchdog: values.watchdog,
          bufferSize: values.queueSize
        },
        firstStart: {
          startFrom: Option.match(values.startTimestamp, { onNone: () => beginning, onSome: (ms) => `${ms}-0` }),
          recoverUntil
        },
        consumerCount: values.consumerCount,
        maxFileBytes: values.maxFileBytes,
        writeEvery: values.writeEvery,
        maxEvents: values.maxEvents,
        maxBytes: values.maxBytes
      })
    })
  )
}
