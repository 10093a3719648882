import { Context, DateTime, Duration, Effect, Layer, Option } from "effect"
import { ConfigurationError, invalid, readSettings, Setting } from "../config/Setting.js"
import type { LiveStreamOptions } from "../opencti/LiveStream.js"
import { beginning } from "../opencti/LiveStreamId.js"
import type { S3Options } from "../storage/ObjectStorage.js"
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
  queueSize: Setting.integer("QUEUE_SIZE", { default: 1000, min: 1 }),
  endpoint: Setting.string("MINIO_ENDPOINT", { accepted: "the host name of the MinIO/S3 server, without scheme" }),
  port: Setting.optionalInteger("MINIO_PORT", 1),
  bucket: Setting.string("MINIO_BUCKET", { accepted: "the name of the bucket to write to" }),
  folder: Setting.optionalString("MINIO_FOLDER"),
  accessKey: Setting.optionalString("MINIO_ACCESS_KEY"),
  secretKey: Setting.optionalRedacted("MINIO_SECRET_KEY"),
  secure: Setting.boolean("MINIO_SECURE", false),
  certCheck: Setting.boolean("MINIO_CERT_CHECK", true),
  writeEvery: Setting.seconds("WRITE_EVERY_SEC", 60),
  maxEvents: Setting.integer("WRITE_MAX_EVENTS", { default: 5000, min: 1 }),
  maxBytes: Setting.integer("WRITE_MAX_BYTES", { default: 32 * 1024 * 1024, min: 1024 })
}

export interface StreamExportConfigShape {
  readonly storage: S3Options
  readonly bucket: string
  /** The key prefix of the objects, `""` or ending with `/`. */
  readonly folder: string
  readonly liveStream: LiveStreamOptions
  readonly firstStart: FirstStart
  readonly consumerCount: number
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

/** `MINIO_ENDPOINT` is a host name as the MinIO client takes it; the scheme comes from MINIO_SECURE. */
const endpointUrl = (host: string, port: Option.Option<number>, secure: boolean): Effect.Effect<string, ConfigurationError> => {
  const notAHost = invalid("MINIO_ENDPOINT", host, "a host name such as minio or minio.example.org (the scheme comes from MINIO_SECURE, the port from MINIO_PORT)")
  if (host.includes("/")) return Effect.fail(notAHost)
  try {
    const url = new URL(`${secure ? "https" : "http"}://${host}`)
    if (Option.isSome(port)) url.port = String(port.value)
    return Effect.succeed(url.origin)
  } catch {
    return Effect.fail(notAHost)
  }
}

const normalizeFolder = (folder: Option.Option<string>): string => {
  const trimmed = Option.getOrElse(folder, () => "").replace(/^\/+|\/+$/g, "")
  return trimmed === "" ? "" : `${trimmed}/`
}

export class StreamExportConfig extends Context.Service<StreamExportConfig, StreamExportConfigShape>()("opencti-connectors/stream-export/StreamExportConfig") {
  static readonly layer = Layer.effect(
    StreamExportConfig,
    Effect.gen(function*() {
      const values = yield* readSettings(streamExportSettings)
      const endpoint = yield* endpointUrl(values.endpoint, values.port, values.secure)
      const recoverUntil = yield* readRecoverDate(values.recoverIsoDate)
      return StreamExportConfig.of({
        storage: {
          region: "us-east-1",
          endpoint: Option.some(endpoint),
          accessKeyId: values.accessKey,
          secretAccessKey: values.secretKey,
          forcePathStyle: true,
          verifyTls: values.certCheck
        },
        bucket: values.bucket,
        folder: normalizeFolder(values.folder),
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
        writeEvery: values.writeEvery,
        maxEvents: values.maxEvents,
        maxBytes: values.maxBytes
      })
    })
  )
}
