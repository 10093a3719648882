import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
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
