import { readFileSync } from "node:fs"
import { runConnector } from "../test/support/ConnectorProcess.js"
import type { OpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { createBucket, listAllKeys, putObjects } from "../test/support/S3Bucket.js"
import { makeS3Client } from "../test/support/S3Server.js"
import type { S3ServerHandle } from "../test/support/S3Server.js"

const sample = (goldenCase: string) => readFileSync(new URL(`../test/fixtures/golden/${goldenCase}/input.json`, import.meta.url))

const samples = [
  { key: "ACI_TI/", body: "" },
  { key: "ACI_TI/2026/11/29/threat-intel.json", body: sample("id-rewrite-all-types") },
  { key: "ACI_Vuln/2026/11/29/cve-notes.json", body: sample("notes-cve") },
  { key: "ACI_Vuln/2026/11/29/credits.json", body: sample("credit-individual-identity") },
  { key: "ACI_Vuln/2026/11/29/cvss.json", body: sample("cvss-v2-v3-mapping") }
]

const countBy = (values: ReadonlyArray<string>): string =>
  Object.entries(values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {}))
    .map(([value, count]) => `${count} ${value}`)
    .join(", ")

/** Seeds the bucket, runs one pass of the S3 import, and prints what was sent and what was deleted. */
export const demoS3Import = async (s3: S3ServerHandle, openCti: OpenCtiStandIn, connectorEnv: Record<string, string>) => {
  const client = makeS3Client(s3)
  const bucket = "aci-feed"
  await createBucket(client, bucket)
  await putObjects(client, bucket, samples)
  console.log(`\n== S3 import: s3://${bucket} holds ${samples.length} objects`)
  for (const key of await listAllKeys(client, bucket)) console.log(`   ${key}`)

  const run = await runConnector("s3-import", {
    ...connectorEnv,
    CONNECTOR_ID: "6a3f1c2e-8b4d-4e5f-9a7b-1c2d3e4f5a6b",
    CONNECTOR_NAME: "S3 import (demo)",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET_NAME: bucket,
    S3_AUTHOR: "Accenture Cyber Threat Intelligence",
    S3_MARKING: "TLP:AMBER"
  })
  console.log(`\n   node dist/main.js s3-import exited with code ${run.code}`)

  console.log("\n   Sent to OpenCTI:")
  for (const work of openCti.works.all) {
    console.log(`   work "${work.name}": ${work.toProcessed?.message ?? "(still open)"}`)
    for (const raw of work.bundles) {
      const bundle = JSON.parse(raw) as { id: string; objects: Array<{ type: string }> }
      console.log(`     ${bundle.id}: ${countBy(bundle.objects.map((object) => object.type))}`)
    }
  }
  const left = await listAllKeys(client, bucket)
  const deleted = samples.map((object) => object.key).filter((key) => !left.includes(key))
  console.log(`\n   Deleted after a confirmed send: ${deleted.length}`)
  for (const key of deleted) console.log(`     ${key}`)
  console.log(`   Left in the bucket: ${left.join(", ")}`)
  client.destroy()
  if (run.code !== 0) throw new Error(`the S3 import failed:\n${run.stderr}`)
}
