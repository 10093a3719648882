import { assert, describe, it } from "vitest"
import { Result } from "effect"
import { chooseConnector } from "../../src/app/ConnectorChoice.js"

const commandOf = (env: Record<string, string>): string | undefined => Result.getOrUndefined(Result.map(chooseConnector(env), (choice) => choice.command))

describe("chooseConnector", () => {
  it.each([
    { env: { CONNECTOR_TYPE: "STREAM" }, command: "stream-export" },
    { env: { CONNECTOR_TYPE: "stream", S3_BUCKET_NAME: "feed" }, command: "stream-export" },
    { env: { CONNECTOR_LIVE_STREAM_ID: "live", MINIO_BUCKET: "export" }, command: "stream-export" },
    { env: { S3_BUCKET_NAME: "feed" }, command: "s3-import" },
    { env: { CONNECTOR_TYPE: "EXTERNAL_IMPORT", S3_BUCKET_NAME: "feed" }, command: "s3-import" },
    { env: { CONNECTOR_TYPE: "EXTERNAL_IMPORT", S3_BUCKET_NAME: "feed", CONNECTOR_LIVE_STREAM_ID: "live" }, command: "s3-import" },
    { env: { MINIO_SRC_PATH: "export/stream" }, command: "stream-import" },
    { env: { CONNECTOR_TYPE: "EXTERNAL_IMPORT", MINIO_BUCKET: "export", MINIO_BUCKET_DONE: "done" }, command: "stream-import" }
  ])("$env → $command", ({ env, command }) => {
    assert.strictEqual(commandOf(env), command)
  })

  it.each([
    { name: "nothing", env: {}, says: "names no connector" },
    { name: "an empty bucket name", env: { S3_BUCKET_NAME: " " }, says: "names no connector" },
    { name: "MINIO_BUCKET alone (the exporter's, without a stream id)", env: { MINIO_BUCKET: "export" }, says: "names no connector" },
    { name: "an S3 import and a stream importer", env: { S3_BUCKET_NAME: "feed", MINIO_SRC_PATH: "export" }, says: "fits several connectors, s3-import (S3_BUCKET_NAME), stream-import (MINIO_SRC_PATH)" },
    { name: "a stream id next to a bucket name", env: { S3_BUCKET_NAME: "feed", CONNECTOR_LIVE_STREAM_ID: "live" }, says: "fits several connectors" },
    { name: "another connector type", env: { CONNECTOR_TYPE: "INTERNAL_ENRICHMENT", S3_BUCKET_NAME: "feed" }, says: "CONNECTOR_TYPE=INTERNAL_ENRICHMENT names no connector of this image" }
  ])("refuses $name, naming the commands", ({ env, says }) => {
    const result = chooseConnector(env)
    assert.isTrue(Result.isFailure(result))
    const message = Result.isFailure(result) ? result.failure.message : ""
    assert.include(message, says)
    assert.include(message, "s3-import, stream-export or stream-import")
  })
})
