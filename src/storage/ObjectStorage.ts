import { Clock, Context, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import type { Duration } from "effect"
import { createHash } from "node:crypto"

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
  /** The longest one call may take, from the request to the last byte of the answer, the SDK's retries included. */
  readonly timeout: Duration.Duration
  /** The variable that sets `timeout`, named when a call runs past it. */
  readonly timeoutVariable: string
}

/** Which stored version of an object a read returned, so that a delete removes that one and no later one. */
export interface ObjectVersion {
  readonly etag: string
  /** Set on a versioned bucket. */
  readonly versionId: Option.Option<string>
}

/** An object read whole, with the version read. */
export interface FetchedObject {
  readonly body: Uint8Array
  readonly version: ObjectVersion
}

/**
 * A versioned delete removes the version, finds that the object changed since (and leaves it), or finds
 * no object any more.
 */
export type DeleteOutcome = "deleted" | "changed" | "gone"

const StorageOperation = Schema.Literals(["list", "get", "put", "copy", "head", "delete", "ensureBucket"])
export type StorageOperation = typeof StorageOperation.Type

/** Any failure of the object store, mapped once at the adapter. */
export class ObjectStorageError extends Schema.TaggedError<ObjectStorageError>()("ObjectStorageError", {
  operation: StorageOperation,
  bucket: Schema.String,
  key: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** An object as the in-memory store holds it. */
export interface StoredObject {
  readonly body: Uint8Array
  readonly lastModified: number
  readonly contentType: string
  /** Set when the bucket keeps versions. */
  readonly versionId?: string
}

/** The buckets of an in-memory store, exposed so tests can seed and inspect them. */
export type MemoryBuckets = Map<string, Map<string, StoredObject>>

/** An S3-like object store: S3 or MinIO, or a directory (a bucket is then a directory path); memory in tests. */
export class ObjectStorage extends Context.Service<ObjectStorage, {
  /** Every object under `prefix`, in key order, page after page. */
  readonly list: (bucket: string, prefix: string) => Stream.Stream<ObjectInfo, ObjectStorageError>
  readonly get: (bucket: string, key: string) => Effect.Effect<Uint8Array, ObjectStorageError>
  /** The object's bytes as they arrive, for objects too large to hold at once; read again by running the stream again. */
  readonly getStream: (bucket: string, key: string) => Stream.Stream<Uint8Array, ObjectStorageError>
  /** Writes an object. The body is only read until the write is done: its bytes may then be used again. */
  readonly put: (bucket: string, key: string, body: Uint8Array, contentType: string) => Effect.Effect<void, ObjectStorageError>
  /** Copies an object, whole, to `toKey` of `toBucket` (replacing what is there). */
  readonly copy: (bucket: string, key: string, toBucket: string, toKey: string) => Effect.Effect<void, ObjectStorageError>
  readonly delete: (bucket: string, key: string) => Effect.Effect<void, ObjectStorageError>
  /** The object and its version; fails before reading the body when it holds more than `maxBytes`. */
  readonly fetch: (bucket: string, key: string, maxBytes: number) => Effect.Effect<FetchedObject, ObjectStorageError>
  /**
   * Deletes exactly `version`: by its version id on a versioned bucket (always "deleted", as S3 answers),
   * otherwise only while the object's ETag is still the one read: "changed" when it is not, "gone" when
   * there is no object at `key` any more.
   */
  readonly deleteVersion: (bucket: string, key: string, version: ObjectVersion) => Effect.Effect<DeleteOutcome, ObjectStorageError>
  /** Creates the bucket unless it exists. */
  readonly ensureBucket: (bucket: string) => Effect.Effect<void, ObjectStorageError>
}>()("opencti-connectors/storage/ObjectStorage") {
  /** A store over `buckets`, listing by pages of `pageSize` like S3, stamping objects with the Clock's time. */
  static readonly layerMemory = (buckets: MemoryBuckets, options: { readonly pageSize?: number } = {}) =>
    Layer.succeed(ObjectStorage, makeMemory(buckets, options.pageSize ?? 1000))
}

/** Streamed reads of the memory store come in chunks of this size, as a network read would. */
const streamChunkBytes = 64 * 1024

/** The version of a stored object; its ETag is the MD5 of its bytes, as S3 gives for a single-part upload. */
const versionOf = (object: StoredObject): ObjectVersion => ({
  etag: `"${createHash("md5").update(object.body).digest("hex")}"`,
  versionId: Option.fromUndefinedOr(object.versionId)
})

const makeMemory = (buckets: MemoryBuckets, pageSize: number): ObjectStorage["Service"] => {
  const bucketOf = (operation: StorageOperation, bucket: string, key?: string) => {
    const found = buckets.get(bucket)
    return found === undefined
      ? Effect.fail(new ObjectStorageError({ operation, bucket, key, message: "NoSuchBucket: the bucket does not exist" }))
      : Effect.succeed(found)
  }
  const objectOf = (operation: StorageOperation, bucket: string, key: string) =>
    Effect.flatMap(bucketOf(operation, bucket, key), (objects) => {
      const object = objects.get(key)
      return object === undefined
        ? Effect.fail(new ObjectStorageError({ operation, bucket, key, message: "NoSuchKey: the object does not exist" }))
        : Effect.succeed(object)
    })
  return {
    list: (bucket, prefix) =>
      Stream.unwrap(Effect.map(bucketOf("list", bucket), (objects) => {
        const infos: Array<ObjectInfo> = [...objects.entries()]
          .filter(([key]) => key.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, object]) => ({ key, lastModified: object.lastModified, size: object.body.byteLength }))
        return Stream.fromIterable(infos).pipe(Stream.rechunk(pageSize))
      })),
    get: (bucket, key) => Effect.map(objectOf("get", bucket, key), (object) => object.body),
    getStream: (bucket, key) =>
      Stream.unwrap(Effect.map(objectOf("get", bucket, key), (object) =>
        Stream.fromIterable(Array.from({ length: Math.ceil(object.body.byteLength / streamChunkBytes) }, (_, index) =>
          object.body.subarray(index * streamChunkBytes, (index + 1) * streamChunkBytes))))),
    copy: (bucket, key, toBucket, toKey) =>
      Effect.flatMap(objectOf("copy", bucket, key), (object) =>
        Effect.flatMap(bucketOf("copy", toBucket, toKey), (objects) =>
          Effect.map(Clock.currentTimeMillis, (lastModified) => void objects.set(toKey, { ...object, lastModified })))),
    put: (bucket, key, body, contentType) =>
      Effect.flatMap(bucketOf("put", bucket, key), (objects) =>
        Effect.map(Clock.currentTimeMillis, (lastModified) => void objects.set(key, { body: Uint8Array.from(body), contentType, lastModified }))),
    delete: (bucket, key) => Effect.map(bucketOf("delete", bucket, key), (objects) => void objects.delete(key)),
    fetch: (bucket, key, maxBytes) =>
      Effect.flatMap(objectOf("get", bucket, key), (object) =>
        object.body.byteLength > maxBytes
          ? Effect.fail(new ObjectStorageError({ operation: "get", bucket, key, message: `the object is ${object.body.byteLength} bytes, over the limit of ${maxBytes} bytes` }))
          : Effect.succeed({ body: object.body, version: versionOf(object) })),
    // A version id deletes that version alone, as S3 does: a later version stays current.
    deleteVersion: (bucket, key, version) =>
      Effect.map(bucketOf("delete", bucket, key), (objects): DeleteOutcome => {
        const current = objects.get(key)
        if (Option.isSome(version.versionId)) {
          if (current?.versionId === version.versionId.value) objects.delete(key)
          return "deleted"
        }
        if (current === undefined) return "gone"
        if (versionOf(current).etag !== version.etag) return "changed"
        objects.delete(key)
        return "deleted"
      }),
    ensureBucket: (bucket) =>
      Effect.sync(() => {
        if (!buckets.has(bucket)) buckets.set(bucket, new Map())
      })
  }
}
