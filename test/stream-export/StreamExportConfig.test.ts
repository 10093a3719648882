import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { StreamExportConfig } from "../../src/stream-export/StreamExportConfig.js"
import type { StreamExportConfigShape } from "../../src/stream-export/StreamExportConfig.js"

const required = { CONNECTOR_LIVE_STREAM_ID: "live", MINIO_ENDPOINT: "minio", MINIO_BUCKET: "export" }

const read = (env: Record<string, string>) => Effect.provide(StreamExportConfig, StreamExportConfig.layer.pipe(Layer.provide(layerRecord(env))))

const s3Options = (config: StreamExportConfigShape) => {
  assert.strictEqual(config.storage._tag, "S3")
  return config.storage._tag === "S3" ? config.storage.options : assert.fail("not an S3 target")
}

describe("StreamExportConfig", () => {
  it.effect("has the documented defaults", () =>
    Effect.gen(function*() {
      const config = yield* read(required)
      assert.deepStrictEqual(s3Options(config).endpoint, Option.some("http://minio"))
      assert.strictEqual(s3Options(config).region, "us-east-1")
      assert.deepStrictEqual([s3Options(config).forcePathStyle, s3Options(config).verifyTls], [true, true])
      assert.strictEqual(config.folder, "")
      assert.deepStrictEqual(
        [config.liveStream.listenDelete, config.liveStream.noDependencies, config.liveStream.withInferences, config.liveStream.bufferSize],
        [true, true, false, 1000]
      )
      assert.deepStrictEqual([Duration.toSeconds(config.liveStream.watchdog), Duration.toSeconds(config.writeEvery)], [60, 60])
      assert.deepStrictEqual([config.consumerCount, config.maxEvents, config.maxBytes], [1, 5000, 32 * 1024 * 1024])
      assert.deepStrictEqual(config.firstStart, { startFrom: "0-0", recoverUntil: Option.none() })
    }))

  it.effect("reads the raw stream when no stream id is set, as pycti does", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* read({ ...required, CONNECTOR_LIVE_STREAM_ID: "" })).liveStream.streamId, Option.none())
      assert.deepStrictEqual((yield* read(required)).liveStream.streamId, Option.some("live"))
    }))

  it.effect("builds the endpoint from MINIO_ENDPOINT, MINIO_PORT and MINIO_SECURE, and the folder prefix", () =>
    Effect.gen(function*() {
      const config = yield* read({ ...required, MINIO_PORT: "9443", MINIO_SECURE: "true", MINIO_CERT_CHECK: "false", MINIO_FOLDER: "/opencti-stream/" })
      assert.deepStrictEqual(s3Options(config).endpoint, Option.some("https://minio:9443"))
      assert.isFalse(s3Options(config).verifyTls)
      assert.strictEqual(config.folder, "opencti-stream/")
    }))

  it.effect("writes to EXPORT_DIRECTORY instead of MinIO/S3 when it is set, and MINIO_BUCKET is then not needed", () =>
    Effect.gen(function*() {
      const config = yield* read({ CONNECTOR_LIVE_STREAM_ID: "live", EXPORT_DIRECTORY: "/data/export", MINIO_FOLDER: "opencti-stream" })
      assert.deepStrictEqual(config.storage, { _tag: "Directory", path: "/data/export" })
      assert.deepStrictEqual([config.bucket, config.folder], ["/data/export", "opencti-stream/"])
      const both = yield* Effect.flip(read({ ...required, EXPORT_DIRECTORY: "/data/export" }))
      assert.include(both.message, "EXPORT_DIRECTORY and MINIO_ENDPOINT are both set")
      const neither = yield* Effect.flip(read({ CONNECTOR_LIVE_STREAM_ID: "live", MINIO_BUCKET: "export" }))
      assert.strictEqual(neither.variable, "MINIO_ENDPOINT")
      assert.include(neither.message, "EXPORT_DIRECTORY")
      const noBucket = yield* Effect.flip(read({ CONNECTOR_LIVE_STREAM_ID: "live", MINIO_ENDPOINT: "minio" }))
      assert.strictEqual(noBucket.variable, "MINIO_BUCKET")
    }))

  it.effect("reads the first-start position as pycti does", () =>
    Effect.gen(function*() {
      const dated = yield* read({ ...required, CONNECTOR_LIVE_STREAM_START_TIMESTAMP: "1700000000000", CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "2024-05-01T10:00:00Z" })
      assert.deepStrictEqual(dated.firstStart, { startFrom: "1700000000000-0", recoverUntil: Option.some("2024-05-01T10:00:00Z") })
      const none = yield* read({ ...required, CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "None" })
      assert.deepStrictEqual(none.firstStart.recoverUntil, Option.some(false))
    }))

  it.effect.each([
    { name: "an endpoint with a scheme", env: { MINIO_ENDPOINT: "http://minio:9000" }, variable: "MINIO_ENDPOINT" },
    { name: "a recover date that is not a date", env: { CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "yesterday" }, variable: "CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE" },
    { name: "a zero watchdog", env: { CONNECTOR_LIVE_STREAM_WATCHDOG_SEC: "0" }, variable: "CONNECTOR_LIVE_STREAM_WATCHDOG_SEC" },
    { name: "a port out of range", env: { MINIO_PORT: "http" }, variable: "MINIO_PORT" },
    { name: "a folder climbing out with ..", env: { MINIO_FOLDER: "exports/../other" }, variable: "MINIO_FOLDER" },
    { name: "a folder with an empty segment", env: { MINIO_FOLDER: "exports//opencti" }, variable: "MINIO_FOLDER" },
    { name: "a folder that is only ..", env: { MINIO_FOLDER: "/../" }, variable: "MINIO_FOLDER" }
  ])("refuses $name, naming the variable", ({ env, variable }) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read({ ...required, ...env }))
      assert.strictEqual(error.variable, variable)
    }))
})
