import { Duration, Effect, Option } from "effect"
import type { Redacted } from "effect"
import { ConfigurationError, invalid } from "../config/Setting.js"
import type { S3Options } from "./ObjectStorage.js"

/** Where a stream connector keeps its objects: a MinIO/S3 server, or a directory (a bucket is then a directory path). */
export type StorageTarget =
  | { readonly _tag: "S3"; readonly options: S3Options }
  | { readonly _tag: "Directory"; readonly path: string }

/** The `MINIO_*` variables, as the MinIO client of the Python connectors takes them. */
export interface MinioValues {
  readonly endpoint: Option.Option<string>
  readonly port: Option.Option<number>
  readonly region: string
  readonly secure: boolean
  readonly certCheck: boolean
  readonly accessKey: Option.Option<string>
  readonly secretKey: Option.Option<Redacted.Redacted<string>>
  /** MINIO_REQUEST_TIMEOUT_SEC */
  readonly requestTimeout: Duration.Duration
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

/**
 * The target of a connector that reads or writes either MinIO/S3 or the directory named by
 * `directoryVariable`: exactly one of the two must be set.
 */
export const chooseTarget = (directoryVariable: string, directory: Option.Option<string>, minio: MinioValues): Effect.Effect<StorageTarget, ConfigurationError> => {
  if (Option.isSome(directory)) {
    return Option.isSome(minio.endpoint)
      ? Effect.fail(new ConfigurationError({
        variable: directoryVariable,
        message: `${directoryVariable} and MINIO_ENDPOINT are both set: set ${directoryVariable} to use a directory, or MINIO_ENDPOINT to use MinIO/S3, not both`
      }))
      : Effect.succeed({ _tag: "Directory", path: directory.value })
  }
  if (Option.isNone(minio.endpoint)) {
    return Effect.fail(new ConfigurationError({
      variable: "MINIO_ENDPOINT",
      message: `MINIO_ENDPOINT is required: expected the host name of the MinIO/S3 server (or set ${directoryVariable} to use a directory)`
    }))
  }
  return Effect.map(endpointUrl(minio.endpoint.value, minio.port, minio.secure), (endpoint) => ({
    _tag: "S3",
    options: {
      region: minio.region,
      endpoint: Option.some(endpoint),
      accessKeyId: minio.accessKey,
      secretAccessKey: minio.secretKey,
      forcePathStyle: true,
      verifyTls: minio.certCheck,
      timeout: minio.requestTimeout,
      timeoutVariable: "MINIO_REQUEST_TIMEOUT_SEC"
    }
  }))
}

/** The longest one storage call may take: MINIO_REQUEST_TIMEOUT_SEC for MinIO/S3; a directory is not waited on. */
export const callTimeout = (target: StorageTarget): Duration.Duration => (target._tag === "S3" ? target.options.timeout : Duration.zero)

/** A folder or key prefix as the connectors use it: `""`, or ending with one `/`. */
export const normalizeFolder = (folder: Option.Option<string>): string => {
  const trimmed = Option.getOrElse(folder, () => "").replace(/^\/+|\/+$/g, "")
  return trimmed === "" ? "" : `${trimmed}/`
}
