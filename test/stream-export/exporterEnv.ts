import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { S3ServerHandle } from "../support/S3Server.js"

/** The variables of an exporter reading the stand-in's `live` stream into s3rver's `export` bucket. */
export const exporterEnv = (
  standIn: OpenCtiStandIn,
  s3: S3ServerHandle,
  connector: { readonly token: string; readonly id: string },
  overrides: Record<string, string> = {}
): Record<string, string> => {
  const { hostname, port } = new URL(s3.endpoint)
  return {
    OPENCTI_URL: standIn.url,
    OPENCTI_TOKEN: connector.token,
    CONNECTOR_ID: connector.id,
    CONNECTOR_LIVE_STREAM_ID: "live",
    CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "false",
    MINIO_ENDPOINT: hostname,
    MINIO_PORT: port,
    MINIO_BUCKET: "export",
    MINIO_FOLDER: "opencti-stream",
    MINIO_ACCESS_KEY: s3.accessKeyId,
    MINIO_SECRET_KEY: s3.secretAccessKey,
    ...overrides
  }
}
