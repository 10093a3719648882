import type { S3Client } from "@aws-sdk/client-s3"
import { afterAll, afterEach, assert, beforeAll, beforeEach } from "vitest"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { createBucket } from "../support/S3Bucket.js"
import { makeS3Client, startS3Server } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"

/** The variables of a single S3 import pass from s3rver's `bucket` to the stand-in through its API, without transformation. */
export const importerEnv = (
  openCti: OpenCtiStandIn,
  s3: S3ServerHandle,
  connector: { readonly token: string; readonly id: string; readonly bucket: string },
  overrides: Record<string, string> = {}
): Record<string, string> => ({
  OPENCTI_URL: openCti.url,
  OPENCTI_TOKEN: connector.token,
  CONNECTOR_ID: connector.id,
  CONNECTOR_NAME: "S3 integration",
  CONNECTOR_LOG_LEVEL: "info",
  CONNECTOR_RUN_AND_TERMINATE: "true",
  CONNECTOR_QUEUE_PROTOCOL: "api",
  S3_ENDPOINT_URL: s3.endpoint,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  S3_REGION: s3.region,
  S3_BUCKET_NAME: connector.bucket,
  S3_BUCKET_PREFIXES: "ACI_TI,ACI_Vuln",
  S3_TRANSFORM: "none",
  ...overrides
})

/** The name of the first object of each bundle the stand-in accepted, in order (the sample bundles name it after their file). */
export const pushedNames = (openCti: OpenCtiStandIn): Array<string | undefined> =>
  openCti.bundlePushes.bundles.map((pushed) => (JSON.parse(pushed.raw) as { objects: Array<{ name?: string }> }).objects[0]?.name)

const defined = <A>(value: A | undefined, what: string): A => {
  if (value === undefined) throw new Error(`${what} is only there while a test runs`)
  return value
}

/** s3rver for the whole test file, and a client of it. */
export interface S3Fixture {
  readonly s3: S3ServerHandle
  readonly client: S3Client
}

/** Starts s3rver before the file's tests and stops it after them. */
export const useS3Server = (): S3Fixture => {
  let s3: S3ServerHandle | undefined
  let client: S3Client | undefined
  beforeAll(async () => {
    s3 = await startS3Server()
    client = makeS3Client(s3)
  })
  afterAll(async () => {
    client?.destroy()
    await s3?.close()
  })
  return { get s3() { return defined(s3, "s3rver") }, get client() { return defined(client, "The S3 client") } }
}

/** s3rver for the file; for each test a fresh OpenCTI stand-in and bucket, the stand-in checked for invalid documents after it. */
export interface ImportWorld extends S3Fixture {
  readonly openCti: OpenCtiStandIn
  readonly bucket: string
}

export const useImportWorld = (token: string, bucketStem: string): ImportWorld => {
  const server = useS3Server()
  let openCti: OpenCtiStandIn | undefined
  let bucket: string | undefined
  let buckets = 0
  beforeEach(async () => {
    openCti = await startOpenCtiStandIn({ token })
    bucket = `${bucketStem}-${++buckets}`
    await createBucket(server.client, bucket)
  })
  afterEach(async () => {
    const standIn = defined(openCti, "The stand-in")
    standIn.assertNoInvalidDocuments()
    assert.deepStrictEqual(standIn.internalErrors, [])
    await standIn.close()
  })
  return {
    get s3() { return server.s3 },
    get client() { return server.client },
    get openCti() { return defined(openCti, "The stand-in") },
    get bucket() { return defined(bucket, "The bucket") }
  }
}
