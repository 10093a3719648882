import { Context, Duration, Effect, Layer, Option } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { ConfigurationError, invalid, readSettings, Setting } from "../config/Setting.js"
import type { SettingValues } from "../config/Setting.js"
import { chooseTarget, normalizeFolder } from "../storage/StorageTarget.js"
import type { StorageTarget } from "../storage/StorageTarget.js"

/** The variables of the stream importer (besides the OpenCTI and `MQ_*` ones), with the upstream names. */
export const streamImportSettings = {
  runEvery: Setting.period("CONNECTOR_RUN_EVERY", "1m"),
  perfectSync: Setting.boolean("PERFECT_SYNC", false),
  endpoint: Setting.optionalString("MINIO_ENDPOINT"),
  port: Setting.optionalInteger("MINIO_PORT", 1),
  region: Setting.string("MINIO_REGION", { default: "us-east-1" }),
  srcPath: Setting.optionalString("MINIO_SRC_PATH"),
  dstPath: Setting.optionalString("MINIO_DST_PATH"),
  bucket: Setting.optionalString("MINIO_BUCKET"),
  folder: Setting.optionalString("MINIO_FOLDER"),
  bucketDone: Setting.optionalString("MINIO_BUCKET_DONE"),
  accessKey: Setting.optionalString("MINIO_ACCESS_KEY"),
  secretKey: Setting.optionalRedacted("MINIO_SECRET_KEY"),
  requestTimeout: Setting.seconds("MINIO_REQUEST_TIMEOUT_SEC", 120),
  secure: Setting.boolean("MINIO_SECURE", true),
  certCheck: Setting.boolean("MINIO_CERT_CHECK", true),
  directory: Setting.optionalString("IMPORT_DIRECTORY"),
  directoryDone: Setting.optionalString("IMPORT_DIRECTORY_DONE"),
  confirmWindow: Setting.integer("IMPORT_CONFIRM_WINDOW", { default: 1000, min: 1, max: 100_000 }),
  maxMessageBytes: Setting.integer("IMPORT_MAX_MESSAGE_BYTES", { default: 16_000_000, min: 1024 }),
  metricsNamespace: Setting.string("METRICS_NAMESPACE", { default: "" }),
  metricsSubsystem: Setting.string("METRICS_SUBSYSTEM", { default: "" }),
  metricsSubsystemMisspelt: Setting.string("METRICS_SUBSYTEM", { default: "" })
}

/** A bucket (or directory) and the key prefix in it: `""` or ending with `/`. */
export interface Location {
  readonly bucket: string
  readonly prefix: string
}

export interface StreamImportConfigShape {
  readonly storage: StorageTarget
  /** Where the exporter's objects are read: `{prefix}stream_{ms}_{n}.json`, directly under the prefix. */
  readonly source: Location
  /** Where each imported object goes: `{prefix}{source key}`. */
  readonly done: Location
  /**
   * What a key directly under the source prefix that is not named like an export object means: a
   * stop on MinIO/S3, where only the exporter writes; nothing in a directory, where transfer agents
   * leave files of their own.
   */
  readonly unknownKeys: "stop" | "ignore"
  readonly runEvery: Duration.Duration
  /** `synchronized` in every message: the worker then upserts as the source platform did. */
  readonly perfectSync: boolean
  /** Messages published before waiting for their confirms (and saving the position). */
  readonly confirmWindow: number
  readonly maxMessageBytes: number
  /** Prefix of the importer's own metric names (`METRICS_NAMESPACE` and `METRICS_SUBSYSTEM` joined with `_`). */
  readonly metricsPrefix: string
}

const bothSet = (first: string, second: string, advice: string) =>
  new ConfigurationError({ variable: first, message: `${first} and ${second} are both set: ${advice}` })

const required = (variable: string, accepted: string) => new ConfigurationError({ variable, message: `${variable} is required: expected ${accepted}` })

/** `bucket[/folder]` as upstream's MINIO_SRC_PATH and MINIO_DST_PATH write it. */
const splitPath = (path: string): Location => {
  const trimmed = path.replace(/^\/+/, "")
  const slash = trimmed.indexOf("/")
  return slash < 0
    ? { bucket: trimmed, prefix: "" }
    : { bucket: trimmed.slice(0, slash), prefix: normalizeFolder(Option.some(trimmed.slice(slash + 1))) }
}

/** A location from its current variable or its older alias (a bucket, with a prefix variable of its own or none). */
const pathOrAlias = (
  path: readonly [string, Option.Option<string>],
  alias: readonly [string, Option.Option<string>],
  aliasPrefix: Option.Option<string>,
  accepted: string
): Effect.Effect<Location, ConfigurationError> => {
  const [pathName, pathValue] = path
  const [aliasName, aliasValue] = alias
  if (Option.isSome(pathValue)) {
    return Option.isSome(aliasValue)
      ? Effect.fail(bothSet(pathName, aliasName, `${aliasName} is the older name of the same setting: keep ${pathName} only`))
      : Effect.succeed(splitPath(pathValue.value))
  }
  return Option.match(aliasValue, {
    onNone: () => Effect.fail(required(pathName, `${accepted} (or the older ${aliasName})`)),
    onSome: (bucket) => Effect.succeed({ bucket, prefix: normalizeFolder(aliasPrefix) })
  })
}

const s3Locations = (values: SettingValues<typeof streamImportSettings>) =>
  Effect.gen(function*() {
    if (Option.isSome(values.srcPath) && Option.isSome(values.folder)) {
      return yield* bothSet("MINIO_SRC_PATH", "MINIO_FOLDER", "MINIO_SRC_PATH holds the folder (bucket/folder): keep MINIO_SRC_PATH only")
    }
    const source = yield* pathOrAlias(["MINIO_SRC_PATH", values.srcPath], ["MINIO_BUCKET", values.bucket], values.folder, "bucket[/folder]")
    const done = yield* pathOrAlias(["MINIO_DST_PATH", values.dstPath], ["MINIO_BUCKET_DONE", values.bucketDone], Option.none(), "bucket[/prefix]")
    if (done.bucket === source.bucket && done.prefix === "") {
      return yield* new ConfigurationError({
        variable: "MINIO_DST_PATH",
        message: `MINIO_DST_PATH=${JSON.stringify(done.bucket)} is the source bucket without a prefix: imported objects would replace themselves; name another bucket or a prefix (bucket/prefix)`
      })
    }
    return { source, done }
  })

const directoryLocations = (directory: string, values: SettingValues<typeof streamImportSettings>) =>
  Option.match(values.directoryDone, {
    onNone: () => Effect.fail(required("IMPORT_DIRECTORY_DONE", "the directory imported files are moved to, with IMPORT_DIRECTORY")),
    onSome: (done) =>
      done.replace(/\/+$/, "") === directory.replace(/\/+$/, "")
        ? Effect.fail(invalid("IMPORT_DIRECTORY_DONE", done, "another directory than IMPORT_DIRECTORY"))
        : Effect.succeed({ source: { bucket: directory, prefix: normalizeFolder(values.folder) }, done: { bucket: done, prefix: "" } })
  })

export class StreamImportConfig extends Context.Service<StreamImportConfig, StreamImportConfigShape>()("opencti-connectors/stream-import/StreamImportConfig") {
  static readonly layer = Layer.effect(
    StreamImportConfig,
    Effect.gen(function*() {
      if ((yield* OpenCtiConfig).queueProtocol === "api") {
        return yield* new ConfigurationError({
          variable: "CONNECTOR_QUEUE_PROTOCOL",
          message: "CONNECTOR_QUEUE_PROTOCOL=api is not supported by the stream importer: the platform takes live-stream events only from its RabbitMQ queue; set amqp (the default)"
        })
      }
      const values = yield* readSettings(streamImportSettings)
      if (Option.isSome(values.directoryDone) && Option.isNone(values.directory)) {
        return yield* required("IMPORT_DIRECTORY", "the directory to import from, with IMPORT_DIRECTORY_DONE")
      }
      const storage = yield* chooseTarget("IMPORT_DIRECTORY", values.directory, values)
      const locations = storage._tag === "Directory" ? yield* directoryLocations(storage.path, values) : yield* s3Locations(values)
      const subsystem = values.metricsSubsystem === "" ? values.metricsSubsystemMisspelt : values.metricsSubsystem
      return StreamImportConfig.of({
        storage,
        ...locations,
        unknownKeys: storage._tag === "Directory" ? "ignore" : "stop",
        runEvery: values.runEvery,
        perfectSync: values.perfectSync,
        confirmWindow: values.confirmWindow,
        maxMessageBytes: values.maxMessageBytes,
        metricsPrefix: [values.metricsNamespace, subsystem].filter((part) => part !== "").join("_")
      })
    })
  )
}
