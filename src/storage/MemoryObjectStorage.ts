import { Effect, Layer, Stream } from "effect"
import { ObjectStorage, ObjectStorageError } from "./ObjectStorage.js"
import type { ObjectInfo } from "./ObjectStorage.js"

export interface StoredObject {
  readonly body: Uint8Array
  readonly lastModified: number
  readonly contentType: string
}

/** The buckets of an in-memory store, exposed so tests can seed and inspect them. */
export type MemoryBuckets = Map<string, Map<string, StoredObject>>

/** An in-memory ObjectStorage over `buckets`; listing pages by `pageSize` like S3 does. */
export const layer = (buckets: MemoryBuckets, options: { readonly pageSize?: number; readonly now?: () => number } = {}) =>
  Layer.succeed(ObjectStorage, (() => {
    const pageSize = options.pageSize ?? 1000
    const now = options.now ?? Date.now
    const bucketOf = (operation: string, bucket: string, key?: string) => {
      const found = buckets.get(bucket)
      return found === undefined
        ? Effect.fail(new ObjectStorageError({ operation, bucket, key, message: "NoSuchBucket: the bucket does not exist" }))
        : Effect.succeed(found)
    }
    return ObjectStorage.of({
      list: (bucket, prefix) =>
        Stream.unwrap(Effect.map(bucketOf("list", bucket), (objects) => {
          const infos: Array<ObjectInfo> = [...objects.entries()]
            .filter(([key]) => key.startsWith(prefix))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, object]) => ({ key, lastModified: object.lastModified, size: object.body.byteLength }))
          return Stream.fromIterable(infos).pipe(Stream.rechunk(pageSize))
        })),
      get: (bucket, key) =>
        Effect.flatMap(bucketOf("get", bucket, key), (objects) => {
          const object = objects.get(key)
          return object === undefined
            ? Effect.fail(new ObjectStorageError({ operation: "get", bucket, key, message: "NoSuchKey: the object does not exist" }))
            : Effect.succeed(object.body)
        }),
      put: (bucket, key, body, contentType) =>
        Effect.map(bucketOf("put", bucket, key), (objects) => {
          objects.set(key, { body, contentType, lastModified: now() })
        }),
      delete: (bucket, key) => Effect.map(bucketOf("delete", bucket, key), (objects) => void objects.delete(key)),
      ensureBucket: (bucket) =>
        Effect.sync(() => {
          if (!buckets.has(bucket)) buckets.set(bucket, new Map())
        })
    })
  })())
