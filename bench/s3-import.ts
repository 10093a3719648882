import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3"
import type { S3Client } from "@aws-sdk/client-s3"
import { Effect, Layer, Logger } from "effect"
import { performance } from "node:perf_hooks"
import { layerRecord } from "../src/config/ConfigSource.js"
import * as S3ImportApp from "../src/s3-import/S3ImportApp.js"
import { S3Importer } from "../src/s3-import/S3Importer.js"
import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { createBucket, putObjects } from "../test/support/S3Bucket.js"
import { makeS3Client, startS3Server } from "../test/support/S3Server.js"

/**
 * Files per second of one S3 import pass over BENCH_FILES (default 2,000) small bundles on a local
 * s3rver, sending to the OpenCTI stand-in, next to a bare AWS SDK list + get + delete loop over the
 * same files in the same run. Run with `npm run bench:s3-import`.
 */

const files = Number(process.env["BENCH_FILES"] ?? 2000)
const token = "bench-token"

const bundle = (index: number) =>
  JSON.stringify({
    type: "bundle",
    id: `bundle--${crypto.randomUUID()}`,
    objects: [{
      type: "malware",
      spec_version: "2.1",
      id: `malware--${crypto.randomUUID()}`,
      name: `Sample malware ${index}`,
      is_family: false,
      created: "2024-01-01T00:00:00.000Z",
      modified: "2024-01-02T00:00:00.000Z",
      labels: ["trojan"]
    }]
  })

const seed = (client: S3Client, bucket: string) =>
  putObjects(client, bucket, Array.from({ length: files }, (_, index) => ({ key: `ACI_TI/${String(index).padStart(6, "0")}.json`, body: bundle(index) })), { concurrency: 32 })

/** The baseline: what any importer must do at least, sequentially, with the same SDK and server. */
const rawLoop = async (client: S3Client, bucket: string): Promise<number> => {
  let token: string | undefined
  let count = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "ACI_TI/", ContinuationToken: token }))
    for (const entry of page.Contents ?? []) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: entry.Key }))
      JSON.parse(await object.Body?.transformToString() ?? "null")
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.Key }))
      count++
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  return count
}

const s3 = await startS3Server()
const openCti = await startOpenCtiStandIn({ token })
const client = makeS3Client(s3)
try {
  await createBucket(client, "raw")
  await createBucket(client, "importer")
  await seed(client, "raw")
  await seed(client, "importer")

  const rawStart = performance.now()
  const rawCount = await rawLoop(client, "raw")
  const rawSeconds = (performance.now() - rawStart) / 1000

  const env = {
    OPENCTI_URL: openCti.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_ID: "0c8a7e52-3b9f-4f4e-8d6a-5e2b1c9d7f30",
    CONNECTOR_QUEUE_PROTOCOL: "api",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET_NAME: "importer",
    S3_BUCKET_PREFIXES: "ACI_TI",
    S3_TRANSFORM: process.env["BENCH_TRANSFORM"] ?? "aci"
  }
  const importerStart = performance.now()
  await Effect.runPromise(
    Effect.flatMap(S3Importer, (importer) => importer.cycle).pipe(
      Effect.provide(S3ImportApp.ImporterLayer),
      Effect.provide(Layer.mergeAll(S3ImportApp.ConfigLayer.pipe(Layer.provide(layerRecord(env))), Logger.layer([])))
    )
  )
  const importerSeconds = (performance.now() - importerStart) / 1000
  const imported = openCti.bundlePushes.bundles.length

  const rawRate = rawCount / rawSeconds
  const importerRate = imported / importerSeconds
  console.log(JSON.stringify({
    files,
    transform: env.S3_TRANSFORM,
    baseline: { name: "SDK list+get+parse+delete loop", files: rawCount, seconds: Number(rawSeconds.toFixed(2)), filesPerSecond: Math.round(rawRate) },
    importer: { name: "S3 import pass (fetch, parse, transform, stixBundlePush, delete)", files: imported, seconds: Number(importerSeconds.toFixed(2)), filesPerSecond: Math.round(importerRate) },
    ratio: Number((importerRate / rawRate).toFixed(2))
  }, null, 2))
} finally {
  client.destroy()
  await openCti.close()
  await s3.close()
}
