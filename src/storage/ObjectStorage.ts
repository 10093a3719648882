import { Context, Effect, Option, Redacted, Schema, Stream } from "effect"

/** What a listing says of one stored object. */
export interface ObjectInfo {
  readonly key: string
  /** Epoch milliseconds. */
  readonly lastModified: number
  readonly size: number
}

/** Where and how to reach an S3-compatible store: what the configuration gives and the S3 adapter takes. */
export interface S3Options {
  readonly region: string
  /** An S3-compatible endpoint (MinIO, Ceph, ...); AWS itself when absent. */
  readonly endpoint: Option.Option<string>
  readonly accessKeyId: Option.Option<string>
  readonly secretAccessKey: Option.Option<Redacted.Redacted<string>>
  /** Path-style addressing (`endpoint/bucket/key`), which S3-compatible servers expect. */
  readonly forcePathStyle: boolean
  /** Verify the server's TLS certificate. */
  readonly verifyTls: boolean
}

export type StorageOperation = "list" | "get" | "put" | "delete" | "head" | "ensureBucket"

/** Any failure of the object store, mapped once at the adapter. */
export class ObjectStorageError extends Schema.TaggedError<ObjectStorageError>()("ObjectStorageError", {
  operation: Schema.String,
  bucket: Schema.String,
  key: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** An S3-like object store: S3 or MinIO in production, memory in tests. */
export class ObjectStorage extends Context.Service<ObjectStorage, {
  /** Every object under `prefix`, in key order, page after page. */
  readonly list: (bucket: string, prefix: string) => Stream.Stream<ObjectInfo, ObjectStorageError>
  readonly get: (bucket: string, key: string) => Effect.Effect<Uint8Array, ObjectStorageError>
  readonly put: (bucket: string, key: string, body: Uint8Array, contentType: string) => Effect.Effect<void, ObjectStorageError>
  readonly delete: (bucket: string, key: string) => Effect.Effect<void, ObjectStorageError>
  /** Creates the bucket unless it exists. */
  readonly ensureBucket: (bucket: string) => Effect.Effect<void, ObjectStorageError>
}>()("opencti-connectors/storage/ObjectStorage") {}
