import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted, Stream } from "effect"
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FileSystemObjectStorage from "../../src/storage/FileSystemObjectStorage.js"
import { ObjectStorage } from "../../src/storage/ObjectStorage.js"
import * as S3ObjectStorage from "../../src/storage/S3ObjectStorage.js"
import { s3ServerScoped } from "../support/S3Server.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "object-storage-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

/** Each adapter with the names of two buckets it holds. */
const adapters = {
  memory: Effect.succeed({ storage: ObjectStorage.layerMemory(new Map()), source: "source", done: "done" }),
  filesystem: Effect.map(temporaryDirectory, (directory) => ({ storage: FileSystemObjectStorage.layer, source: join(directory, "in"), done: join(directory, "done") })),
  s3: Effect.map(s3ServerScoped(), (s3) => ({
    storage: S3ObjectStorage.layer({
      region: s3.region,
      endpoint: Option.some(s3.endpoint),
      accessKeyId: Option.some(s3.accessKeyId),
      secretAccessKey: Option.some(Redacted.make(s3.secretAccessKey)),
      forcePathStyle: true,
      verifyTls: true,
      timeout: Duration.seconds(30),
      timeoutVariable: "MINIO_REQUEST_TIMEOUT_SEC"
    }),
    source: "source",
    done: "done"
  }))
} as const

const readStream = (bucket: string, key: string) =>
  Effect.flatMap(ObjectStorage, (storage) => Stream.runCollect(storage.getStream(bucket, key))).pipe(
    Effect.map((chunks) => decoder.decode(Buffer.concat(chunks)))
  )

describe.each(Object.keys(adapters) as Array<keyof typeof adapters>)("ObjectStorage over %s", (name) => {
  it.live("writes, lists under a prefix in key order, streams, copies to another bucket and deletes", () =>
    Effect.gen(function*() {
      const { storage: layer, source, done } = yield* adapters[name]
      yield* Effect.gen(function*() {
        const storage = yield* ObjectStorage
        yield* storage.ensureBucket(source)
        yield* storage.ensureBucket(done)
        const big = "x".repeat(200_000)
        yield* storage.put(source, "folder/stream_2_2.json", encoder.encode("second\n"), "application/x-ndjson")
        yield* storage.put(source, "folder/stream_1_1.json", encoder.encode(big), "application/x-ndjson")
        yield* storage.put(source, "other/stream_3_3.json", encoder.encode("elsewhere"), "application/x-ndjson")

        const listed = yield* Stream.runCollect(storage.list(source, "folder/"))
        assert.deepStrictEqual(listed.map((info) => [info.key, info.size]), [["folder/stream_1_1.json", 200_000], ["folder/stream_2_2.json", 7]])
        assert.strictEqual(yield* readStream(source, "folder/stream_1_1.json"), big)

        yield* storage.copy(source, "folder/stream_2_2.json", done, "archive/folder/stream_2_2.json")
        yield* storage.delete(source, "folder/stream_2_2.json")
        assert.strictEqual(decoder.decode(yield* storage.get(done, "archive/folder/stream_2_2.json")), "second\n")
        assert.deepStrictEqual((yield* Stream.runCollect(storage.list(source, ""))).map((info) => info.key), ["folder/stream_1_1.json", "other/stream_3_3.json"])
        const missing = yield* Effect.flip(storage.get(source, "folder/stream_2_2.json"))
        assert.strictEqual(missing.key, "folder/stream_2_2.json")
      }).pipe(Effect.provide(layer))
    }), { timeout: 60_000 })

  it.live("deletes the version read, leaves a version rewritten since, and tells an object gone", () =>
    Effect.gen(function*() {
      const { storage: layer, source } = yield* adapters[name]
      yield* Effect.gen(function*() {
        const storage = yield* ObjectStorage
        yield* storage.ensureBucket(source)
        yield* storage.put(source, "kept.json", encoder.encode("first"), "application/json")
        const read = yield* storage.fetch(source, "kept.json", 1000)
        // A rewrite of another size: a new ETag for every adapter, the file system's included.
        yield* storage.put(source, "kept.json", encoder.encode("rewritten"), "application/json")
        assert.strictEqual(yield* storage.deleteVersion(source, "kept.json", read.version), "changed")
        assert.strictEqual(decoder.decode(yield* storage.get(source, "kept.json")), "rewritten")

        const current = yield* storage.fetch(source, "kept.json", 1000)
        assert.strictEqual(yield* storage.deleteVersion(source, "kept.json", current.version), "deleted")
        assert.deepStrictEqual(yield* Stream.runCollect(storage.list(source, "kept")), [])
        assert.strictEqual(yield* storage.deleteVersion(source, "kept.json", current.version), "gone")
      }).pipe(Effect.provide(layer))
    }), { timeout: 60_000 })
})

describe("FileSystemObjectStorage", () => {
  it.live("writes through a temporary file it never lists, and refuses keys that leave the directory", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      const storage = yield* ObjectStorage
      yield* storage.put(directory, "folder/stream_1_1.json", encoder.encode("one\n"), "application/x-ndjson")
      // What a writer that died mid-write leaves behind.
      yield* Effect.promise(() => writeFile(join(directory, "folder", ".stream_2_2.json.partial-0a1b2c"), "half"))
      assert.deepStrictEqual((yield* Stream.runCollect(storage.list(directory, "folder/"))).map((info) => info.key), ["folder/stream_1_1.json"])
      assert.deepStrictEqual((yield* Effect.promise(() => readdir(join(directory, "folder")))).sort(), [".stream_2_2.json.partial-0a1b2c", "stream_1_1.json"])

      const escaped = yield* Effect.flip(storage.put(directory, "../outside.json", encoder.encode("x"), "application/json"))
      assert.match(escaped.message, /not a relative path/)
      assert.deepStrictEqual(yield* Stream.runCollect(storage.list(join(directory, "absent"), "")), [])
      yield* storage.delete(directory, "folder/absent.json")
    }).pipe(Effect.provide(FileSystemObjectStorage.layer)))
})
