import { Effect, Option } from "effect"
import { fileNumberOf } from "../../src/stream-export/ExportObjects.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { getText, listAllKeys } from "../support/S3Bucket.js"
import { makeS3Client } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"

const bucket = "export"
const folder = "opencti-stream"

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
    MINIO_BUCKET: bucket,
    MINIO_FOLDER: folder,
    MINIO_ACCESS_KEY: s3.accessKeyId,
    MINIO_SECRET_KEY: s3.secretAccessKey,
    ...overrides
  }
}

/** The members of an exported line the tests read. */
export interface ExportedLine {
  readonly id: string
  readonly type: string
  readonly previous_standard?: string
  readonly data: {
    readonly type: string
    readonly extensions?: Readonly<Record<string, { readonly files?: ReadonlyArray<{ readonly data?: string }> }>>
  }
}

export interface ExportedObject {
  readonly key: string
  readonly fileNumber: number
  readonly lines: ReadonlyArray<ExportedLine>
}

/** The objects written so far, by object number (none while the bucket does not exist yet). */
export const exportedObjects = (s3: S3ServerHandle) =>
  Effect.promise(async (): Promise<ReadonlyArray<ExportedObject>> => {
    const client = makeS3Client(s3)
    try {
      const keys = await listAllKeys(client, bucket).catch(() => [])
      const objects = await Promise.all(keys.map(async (key) => ({
        key,
        fileNumber: Option.getOrElse(fileNumberOf(`${folder}/`, key), () => Number.NaN),
        lines: (await getText(client, bucket, key)).split("\n").filter((line) => line !== "").map((line): ExportedLine => JSON.parse(line))
      })))
      return objects.sort((a, b) => a.fileNumber - b.fileNumber)
    } finally {
      client.destroy()
    }
  })

/** The ids of an object's lines, in order. */
export const idsOf = (object: ExportedObject): ReadonlyArray<string> => object.lines.map((line) => line.id)

/** The events an exporter process has read and holds or wrote (processed_messages_total on its /metrics, every action; 0 before it serves). */
export const processedEvents = (metricsPort: number) =>
  Effect.promise(async () => {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((response) => response.text(), () => "")
    return [...text.matchAll(/^processed_messages_total\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
  })

/** The connector state the stand-in holds for `connectorId`, parsed; null for none. */
export const connectorState = (standIn: OpenCtiStandIn, connectorId: string) => {
  const state = standIn.connectors.get(connectorId)?.state
  // A reset from the UI leaves "".
  return state === undefined || state === null || state === "" ? null : JSON.parse(state)
}
