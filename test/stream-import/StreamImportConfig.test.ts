import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import * as StreamImportApp from "../../src/stream-import/StreamImportApp.js"
import { StreamImportConfig } from "../../src/stream-import/StreamImportConfig.js"

const platform = { OPENCTI_URL: "http://opencti:8080", OPENCTI_TOKEN: "token", CONNECTOR_ID: "5b5d1e7a-6c3f-4f0e-9c67-7a1d8a2d2f10" }
const minio = { ...platform, MINIO_ENDPOINT: "minio", MINIO_SRC_PATH: "opencti-export/opencti-stream/", MINIO_DST_PATH: "opencti-done" }

const read = (env: Record<string, string>) =>
  Effect.provide(StreamImportConfig, StreamImportApp.ConfigLayer.pipe(Layer.provide(layerRecord(env))))

describe("StreamImportConfig", () => {
  it.effect("has the upstream defaults: HTTPS, a run every minute, no perfect sync", () =>
    Effect.gen(function*() {
      const config = yield* read(minio)
      assert.deepStrictEqual(config.storage._tag === "S3" ? [config.storage.options.endpoint, config.storage.options.verifyTls] : [], [Option.some("https://minio"), true])
      assert.deepStrictEqual([config.source, config.done], [{ bucket: "opencti-export", prefix: "opencti-stream/" }, { bucket: "opencti-done", prefix: "" }])
      assert.deepStrictEqual([Duration.toSeconds(config.runEvery), config.perfectSync, config.unknownKeys, config.metricsPrefix], [60, false, "stop", ""])
    }))

  it.effect("reads the older MINIO_BUCKET, MINIO_FOLDER and MINIO_BUCKET_DONE, CONNECTOR_RUN_EVERY and the metric prefixes", () =>
    Effect.gen(function*() {
      const config = yield* read({
        ...platform, MINIO_ENDPOINT: "minio", MINIO_PORT: "9000", MINIO_SECURE: "false", MINIO_BUCKET: "export", MINIO_FOLDER: "stream",
        MINIO_BUCKET_DONE: "done", CONNECTOR_RUN_EVERY: "12h", PERFECT_SYNC: "true", METRICS_NAMESPACE: "sync", METRICS_SUBSYTEM: "b"
      })
      assert.deepStrictEqual(config.storage._tag === "S3" ? config.storage.options.endpoint : Option.none(), Option.some("http://minio:9000"))
      assert.deepStrictEqual([config.source, config.done], [{ bucket: "export", prefix: "stream/" }, { bucket: "done", prefix: "" }])
      assert.deepStrictEqual([Duration.toHours(config.runEvery), config.perfectSync, config.metricsPrefix], [12, true, "sync_b"])
    }))

  it.effect("reads IMPORT_DIRECTORY and IMPORT_DIRECTORY_DONE, with MINIO_FOLDER as the folder", () =>
    Effect.gen(function*() {
      const config = yield* read({ ...platform, IMPORT_DIRECTORY: "/data/in", IMPORT_DIRECTORY_DONE: "/data/done", MINIO_FOLDER: "opencti-stream" })
      assert.deepStrictEqual(config.storage, { _tag: "Directory", path: "/data/in" })
      assert.deepStrictEqual([config.source, config.done, config.unknownKeys], [{ bucket: "/data/in", prefix: "opencti-stream/" }, { bucket: "/data/done", prefix: "" }, "ignore"])
    }))

  it.effect.each([
    { name: "the api queue protocol", env: { ...minio, CONNECTOR_QUEUE_PROTOCOL: "api" }, variable: "CONNECTOR_QUEUE_PROTOCOL", text: "RabbitMQ queue" },
    { name: "a directory with MINIO_ENDPOINT", env: { ...minio, IMPORT_DIRECTORY: "/data/in", IMPORT_DIRECTORY_DONE: "/data/done" }, variable: "IMPORT_DIRECTORY", text: "IMPORT_DIRECTORY and MINIO_ENDPOINT are both set" },
    { name: "neither a directory nor MINIO_ENDPOINT", env: { ...platform, MINIO_SRC_PATH: "a", MINIO_DST_PATH: "b" }, variable: "MINIO_ENDPOINT", text: "IMPORT_DIRECTORY" },
    { name: "a directory without its done directory", env: { ...platform, IMPORT_DIRECTORY: "/data/in" }, variable: "IMPORT_DIRECTORY_DONE", text: "required" },
    { name: "the same directory twice", env: { ...platform, IMPORT_DIRECTORY: "/data/in", IMPORT_DIRECTORY_DONE: "/data/in/" }, variable: "IMPORT_DIRECTORY_DONE", text: "another directory" },
    { name: "a path and its older alias", env: { ...minio, MINIO_BUCKET: "export" }, variable: "MINIO_SRC_PATH", text: "MINIO_BUCKET is the older name" },
    { name: "no source", env: { ...platform, MINIO_ENDPOINT: "minio", MINIO_DST_PATH: "done" }, variable: "MINIO_SRC_PATH", text: "bucket[/folder]" },
    { name: "done objects replacing the source ones", env: { ...minio, MINIO_DST_PATH: "opencti-export" }, variable: "MINIO_DST_PATH", text: "replace themselves" },
    { name: "a run period without unit", env: { ...minio, CONNECTOR_RUN_EVERY: "60" }, variable: "CONNECTOR_RUN_EVERY", text: "30s, 10m, 12h or 7d" }
  ])("refuses $name, naming the variable", ({ env, variable, text }) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read(env))
      assert.strictEqual(error._tag === "ConfigurationError" ? error.variable : error._tag, variable)
      assert.include(error.message, text)
    }))
})
