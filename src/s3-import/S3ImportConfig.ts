import { Context, Duration, Effect, Layer, Option } from "effect"
import { invalid, readSettings, Setting } from "../config/Setting.js"
import type { ConfigurationError } from "../config/Setting.js"
import { TlpMarkingId } from "../stix/TlpMarking.js"
import type { TlpLevel } from "../stix/TlpMarking.js"
import type { S3Options } from "../storage/ObjectStorage.js"

export const transformProfiles = ["aci", "none"] as const
export type TransformProfile = (typeof transformProfiles)[number]

/**
 * The key prefix an `S3_BUCKET_PREFIXES` entry lists: the entry is a folder, so `ACI_TI` lists
 * `ACI_TI/…` and not `ACI_TI_archive/…`; an empty entry or `/` is the bucket root.
 */
export const prefixFolder = (entry: string): string =>
  entry === "" || entry === "/" ? "" : entry.endsWith("/") ? entry : `${entry}/`

/** The variables of the S3 import connector (besides the OpenCTI ones). */
export const s3ImportSettings = {
  region: Setting.string("S3_REGION", { default: "us-east-1" }),
  endpoint: Setting.optionalString("S3_ENDPOINT_URL"),
  accessKeyId: Setting.optionalString("S3_ACCESS_KEY_ID"),
  secretAccessKey: Setting.optionalRedacted("S3_SECRET_ACCESS_KEY"),
  forcePathStyle: Setting.optionalBoolean("S3_FORCE_PATH_STYLE"),
  verifyTls: Setting.boolean("S3_VERIFY_TLS", true),
  requestTimeout: Setting.seconds("S3_REQUEST_TIMEOUT_SEC", 120),
  bucket: Setting.string("S3_BUCKET_NAME", { accepted: "the name of the bucket to import from" }),
  prefixes: Setting.list("S3_BUCKET_PREFIXES", ["ACI_TI", "ACI_Vuln"]),
  author: Setting.optionalString("S3_AUTHOR"),
  marking: Setting.oneOf("S3_MARKING", Object.keys(TlpMarkingId) as Array<TlpLevel>, "TLP:GREEN"),
  interval: Setting.seconds("S3_INTERVAL", 30),
  attachOriginalFile: Setting.boolean("S3_ATTACH_ORIGINAL_FILE", false),
  deleteAfterImport: Setting.boolean("S3_DELETE_AFTER_IMPORT", true),
  noSplitBundles: Setting.boolean("S3_NO_SPLIT_BUNDLES", true),
  maxMessageBytes: Setting.integer("S3_MAX_MESSAGE_BYTES", { default: 16_000_000, min: 1 }),
  transform: Setting.oneOf("S3_TRANSFORM", transformProfiles, "aci"),
  // Above 400 MB the base64 copy of S3_ATTACH_ORIGINAL_FILE would pass the longest string V8 can hold (2^29 - 24).
  maxFileBytes: Setting.integer("S3_MAX_FILE_BYTES", { default: 104_857_600, min: 1, max: 400_000_000 }),
  fetchAheadBytes: Setting.integer("S3_FETCH_AHEAD_BYTES", { default: 16_777_216, min: 1 }),
  quarantinePrefix: Setting.optionalString("S3_QUARANTINE_PREFIX")
}

export interface S3ImportConfigShape {
  readonly storage: S3Options
  readonly bucket: string
  readonly prefixes: ReadonlyArray<string>
  readonly author: Option.Option<string>
  readonly markingId: string
  readonly interval: Duration.Duration
  readonly attachOriginalFile: boolean
  readonly deleteAfterImport: boolean
  readonly noSplitBundles: boolean
  /** The largest AMQP message body to publish; RabbitMQ closes the channel on one over its `max_message_size`. */
  readonly maxMessageBytes: number
  readonly transform: TransformProfile
  /** The largest file read. */
  readonly maxFileBytes: number
  /** The bytes the files fetched ahead of the sends (the one being sent included) hold together; a larger file is fetched alone. */
  readonly fetchAheadBytes: number
  /** The folder where files that fail to parse or transform are moved; none means such a file stops the cycle. */
  readonly quarantineFolder: Option.Option<string>
}

/** A quarantine folder inside an import folder (or holding one) would feed quarantined files back to the import. */
const readQuarantine = (entry: Option.Option<string>, prefixes: ReadonlyArray<string>): Effect.Effect<Option.Option<string>, ConfigurationError> => {
  if (Option.isNone(entry)) return Effect.succeed(Option.none())
  const folder = prefixFolder(entry.value)
  const overlapping = prefixes.find((prefix) => folder.startsWith(prefixFolder(prefix)) || prefixFolder(prefix).startsWith(folder))
  return overlapping === undefined
    ? Effect.succeed(Option.some(folder))
    : Effect.fail(invalid("S3_QUARANTINE_PREFIX", entry.value, `a folder outside every S3_BUCKET_PREFIXES folder (it overlaps '${overlapping}')`))
}

export class S3ImportConfig extends Context.Service<S3ImportConfig, S3ImportConfigShape>()("opencti-connectors/s3-import/S3ImportConfig") {
  static readonly layer = Layer.effect(
    S3ImportConfig,
    Effect.gen(function*() {
      const values = yield* readSettings(s3ImportSettings)
      const quarantineFolder = yield* readQuarantine(values.quarantinePrefix, values.prefixes)
      return S3ImportConfig.of({
        storage: {
          region: values.region,
          endpoint: values.endpoint,
          accessKeyId: values.accessKeyId,
          secretAccessKey: values.secretAccessKey,
          // S3-compatible servers expect path-style addressing; AWS prefers virtual-hosted buckets.
          forcePathStyle: Option.getOrElse(values.forcePathStyle, () => Option.isSome(values.endpoint)),
          verifyTls: values.verifyTls,
          timeout: values.requestTimeout,
          timeoutVariable: "S3_REQUEST_TIMEOUT_SEC"
        },
        bucket: values.bucket,
        prefixes: values.prefixes,
        author: values.author,
        markingId: TlpMarkingId[values.marking],
        interval: values.interval,
        attachOriginalFile: values.attachOriginalFile,
        deleteAfterImport: values.deleteAfterImport,
        noSplitBundles: values.noSplitBundles,
        maxMessageBytes: values.maxMessageBytes,
        transform: values.transform,
        maxFileBytes: values.maxFileBytes,
        fetchAheadBytes: values.fetchAheadBytes,
        quarantineFolder
      })
    })
  )
}

