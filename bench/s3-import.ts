import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3"
import type { S3Client } from "@aws-sdk/client-s3"
import { Effect, Layer, Logger } from "effect"
import { spawn } from "node:child_process"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { layerRecord } from "../src/config/ConfigSource.js"
import * as Platform from "../src/connector/Platform.js"
import * as S3ImportApp from "../src/s3-import/S3ImportApp.js"
import { S3Importer } from "../src/s3-import/S3Importer.js"
import { createBucket, listAllKeys, putObjects } from "../test/support/S3Bucket.js"
import { malwareBundle } from "../test/support/SampleBundles.js"
import { makeS3Client, startS3Server } from "../test/support/S3Server.js"

/**
 * Files per second of one S3 import pass over BENCH_FILES (default 2,000) small bundles on a local
 * s3rver, sending to the OpenCTI stand-in (in a process of its own, as a platform would be), next to a bare AWS SDK list + get + delete loop over the
 * same files in the same run, alternating over BENCH_ROUNDS (default 3) rounds. Run with
 * `npm run bench:s3-import`.
 */

const files = Number(process.env["BENCH_FILES"] ?? 2000)
const token = "bench-token"
const transform = process.env["BENCH_TRANSFORM"] ?? "aci"

const seed = (client: S3Client, bucket: string) =>
  putObjects(client, bucket, Array.from({ length: files }, (_, index) => ({ key: `ACI_TI/${String(index).padStart(6, "0")}.json`, body: malwareBundle(`Sample malware ${index}`) })), { concurrency: 32 })

/** The baseline: what any importer must do at least, sequentially, with the same SDK and server. */
const rawLoop = async (client: S3Client, bucket: string): Promise<number> => {
  let continuation: string | undefined
  let count = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "ACI_TI/", ContinuationToken: continuation }))
    for (const entry of page.Contents ?? []) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: entry.Key }))
      JSON.parse(await object.Body?.transformToString() ?? "null")
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.Key }))
      count++
    }
    continuation = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (continuation !== undefined)
  return count
}

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3)
/** Starts the stand-in as a child process and returns its URL and a stop function. */
const startStandInProcess = async () => {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("standInProcess.ts", import.meta.url)), token], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the stand-in exited with code ${code}`)))
    child.stdout.setEncoding("utf8").once("data", (line: string) => resolve((JSON.parse(line) as { url: string }).url))
  })
  return { url, stop: () => child.stdin.end() }
}

const s3 = await startS3Server()
const openCti = await startStandInProcess()
const client = makeS3Client(s3)

const importerPass = async (bucket: string): Promise<number> => {
  const env = {
    OPENCTI_URL: openCti.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_ID: "0c8a7e52-3b9f-4f4e-8d6a-5e2b1c9d7f30",
    CONNECTOR_QUEUE_PROTOCOL: "api",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET_NAME: bucket,
    S3_BUCKET_PREFIXES: "ACI_TI",
    S3_TRANSFORM: transform
  }
  await Effect.runPromise(
    Effect.flatMap(S3Importer, (importer) => importer.cycle).pipe(
      Effect.provide(S3ImportApp.ImporterLayer.pipe(Layer.provide(Platform.layer))),
      Effect.provide(Layer.mergeAll(S3ImportApp.ConfigLayer.pipe(Layer.provide(layerRecord(env))), Logger.layer([])))
    )
  )
  // Every file is deleted after its confirmed send: what is gone was imported.
  return files - (await listAllKeys(client, bucket)).length
}

/** Seeds a fresh bucket, then times `pass` over it: files per second. */
const timed = async (name: string, pass: (bucket: string) => Promise<number>) => {
  await createBucket(client, name)
  await seed(client, name)
  const start = performance.now()
  const count = await pass(name)
  const seconds = (performance.now() - start) / 1000
  if (count !== files) throw new Error(`${name}: ${count} files processed, ${files} expected`)
  return count / seconds
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

try {
  const raw: Array<number> = []
  const importer: Array<number> = []
  // Alternate the two so that a change in the machine's load touches both alike.
  for (let round = 0; round < rounds; round++) {
    raw.push(await timed(`raw-${round}`, (bucket) => rawLoop(client, bucket)))
    importer.push(await timed(`importer-${round}`, importerPass))
  }
  console.log(JSON.stringify({
    files,
    rounds,
    transform,
    baseline: { name: "SDK list+get+parse+delete loop", filesPerSecond: raw.map(Math.round) },
    importer: { name: "S3 import pass (fetch, parse, transform, stixBundlePush, delete)", filesPerSecond: importer.map(Math.round) },
    ratioPerRound: raw.map((rate, round) => Number(((importer[round] ?? 0) / rate).toFixed(2))),
    ratioOfMedians: Number((median(importer) / median(raw)).toFixed(2))
  }, null, 2))
} finally {
  client.destroy()
  openCti.stop()
  await s3.close()
}
