import { setTimeout as sleep } from "node:timers/promises"
import { startConnector } from "../test/support/ConnectorProcess.js"
import type { OpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent } from "../test/support/opencti/streamEvents.js"
import { getText, listAllKeys } from "../test/support/S3Bucket.js"
import { makeS3Client } from "../test/support/S3Server.js"
import type { S3ServerHandle } from "../test/support/S3Server.js"

const vulnerability = (n: number, files: ReadonlyArray<string> = []) => ({
  id: `vulnerability--00000000-0000-5000-8000-00000000000${n}`,
  spec_version: "2.1",
  type: "vulnerability",
  name: `CVE-2026-000${n}`,
  extensions: {
    [OPENCTI_EXTENSION]: {
      extension_type: "property-extension",
      type: "Vulnerability",
      is_inferred: false,
      files: files.map((name) => ({ name, uri: `/storage/get/import/Vulnerability/${name}`, version: "2026-11-29T00:00:00.000Z", mime_type: "text/plain", object_marking_refs: [] }))
    }
  }
})

const sampleEvents = [
  platformEvent("create", vulnerability(1, ["advisory.txt"])),
  platformEvent("create", vulnerability(2)),
  platformEvent("update", vulnerability(2), { message: "replaces `CVE-2026-0002` in `Name`", context: { patch: [], reverse_patch: [{ op: "replace", path: "/id", value: "vulnerability--11111111-1111-5111-8111-111111111111" }] } }),
  platformEvent("delete", vulnerability(1))
]

/** Streams sample events, runs the exporter until they are written, stops it with SIGTERM, and prints the objects. */
export const demoStreamExport = async (s3: S3ServerHandle, openCti: OpenCtiStandIn, connectorEnv: Record<string, string>) => {
  const client = makeS3Client(s3)
  const bucket = "opencti-export"
  const { hostname, port } = new URL(s3.endpoint)
  openCti.files.put("import/Vulnerability/advisory.txt", "Patch to 2.4.1.")
  const appended = openCti.stream.append(...sampleEvents)
  console.log(`\n== Stream export: the live stream holds ${appended.length} events`)

  const run = startConnector("stream-export", {
    ...connectorEnv,
    CONNECTOR_ID: "3e8a1f4c-5d6b-4c7a-9e8f-0a1b2c3d4e5f",
    CONNECTOR_NAME: "Stream exporter (demo)",
    CONNECTOR_LIVE_STREAM_ID: "live",
    CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "false",
    MINIO_ENDPOINT: hostname,
    MINIO_PORT: port,
    MINIO_BUCKET: bucket,
    MINIO_FOLDER: "opencti-stream",
    MINIO_ACCESS_KEY: s3.accessKeyId,
    MINIO_SECRET_KEY: s3.secretAccessKey,
    WRITE_EVERY_SEC: "1"
  })
  let keys: Array<string> = []
  // Bounded: 100 ms polls for at most 30 s.
  for (let poll = 0; poll < 300 && keys.length === 0; poll++) {
    await sleep(100)
    keys = await listAllKeys(client, bucket).catch(() => [])
  }
  run.child.kill("SIGTERM")
  const exit = await run.exited
  console.log(`   node dist/main.js stream-export stopped by SIGTERM, exit code ${exit.code}`)

  for (const key of await listAllKeys(client, bucket).catch(() => [])) {
    console.log(`\n   s3://${bucket}/${key}`)
    for (const text of (await getText(client, bucket, key)).split("\n").filter((line) => line !== "")) {
      const line = JSON.parse(text) as { id: string; type: string; previous_standard?: string; data: { name: string; extensions: Record<string, { files?: Array<{ name: string; data?: string }> }> } }
      const files = (line.data.extensions[OPENCTI_EXTENSION]?.files ?? []).map((file) => `${file.name} (${file.data === undefined ? "no content" : `${Buffer.from(file.data, "base64").byteLength} bytes inlined`})`)
      console.log(`     ${line.id} ${line.type.padEnd(6)} ${line.data.name}${line.previous_standard === undefined ? "" : `, previous_standard ${line.previous_standard}`}${files.length === 0 ? "" : `, files: ${files.join(", ")}`}`)
    }
  }
  console.log(`\n   Connector state on the platform: ${openCti.connectors.get("3e8a1f4c-5d6b-4c7a-9e8f-0a1b2c3d4e5f")?.state ?? "none"}`)
  client.destroy()
  if (exit.code !== 0) throw new Error(`the stream export failed:\n${run.stderr()}`)
}
