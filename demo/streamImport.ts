import { existsSync } from "node:fs"
import { runConnector } from "../test/support/ConnectorProcess.js"
import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { rabbitMqServerScript, startRabbitMq } from "../test/support/RabbitMq.js"
import { declarePushQueue, takeMessages } from "../test/support/RabbitMqQueues.js"
import { getText, listAllKeys } from "../test/support/S3Bucket.js"
import { makeS3Client } from "../test/support/S3Server.js"
import type { S3ServerHandle } from "../test/support/S3Server.js"

const connectorId = "7c9e1a3b-5d7f-4b9c-8e1a-3c5e7a9b1d3f"
const bucket = "opencti-export"
const doneBucket = "opencti-import-done"

/**
 * Platform B's side of the sync: the importer takes the objects the exporter wrote, publishes every
 * line to B's queue on a local RabbitMQ, and moves each object to done; then the queue is read back.
 */
export const demoStreamImport = async (s3: S3ServerHandle, connectorEnv: Record<string, string>) => {
  console.log("\n== Stream import: the objects above to platform B's queue")
  if (!existsSync(rabbitMqServerScript)) {
    console.log("   Skipped: the importer publishes to RabbitMQ, and rabbitmq-server is not installed here (apt-get install rabbitmq-server).")
    return
  }
  const client = makeS3Client(s3)
  const exported = (await Promise.all((await listAllKeys(client, bucket)).map((key) => getText(client, bucket, key))))
    .flatMap((text) => text.split("\n").filter((line) => line !== ""))
  const broker = await startRabbitMq()
  const platformB = await startOpenCtiStandIn({ token: "demo-token-b", rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
  try {
    const queue = await declarePushQueue(broker, connectorId)
    const { hostname, port } = new URL(s3.endpoint)
    const run = await runConnector("stream-import", {
      ...connectorEnv,
      CONNECTOR_QUEUE_PROTOCOL: "amqp",
      OPENCTI_URL: platformB.url,
      OPENCTI_TOKEN: "demo-token-b",
      CONNECTOR_ID: connectorId,
      CONNECTOR_NAME: "Stream importer (demo)",
      CONNECTOR_RUN_AND_TERMINATE: "true",
      MINIO_ENDPOINT: hostname,
      MINIO_PORT: port,
      MINIO_SECURE: "false",
      MINIO_SRC_PATH: `${bucket}/opencti-stream`,
      MINIO_DST_PATH: doneBucket,
      MINIO_ACCESS_KEY: s3.accessKeyId,
      MINIO_SECRET_KEY: s3.secretAccessKey
    })
    console.log(`   node dist/main.js stream-import (one pass) exited with code ${run.code}`)
    if (run.code !== 0) throw new Error(`the stream import failed:\n${run.stderr}`)

    const messages = await takeMessages(broker, queue.queue)
    console.log(`\n   Platform B's queue ${queue.queue} holds ${messages.length} message(s):`)
    const lines = messages.map((message) => {
      const body = JSON.parse(message.content.toString("utf8")) as { type: string; previous_standard: string | null; content: string }
      const line = Buffer.from(body.content, "base64").toString("utf8")
      const event = JSON.parse(line) as { id: string; type: string; data: { name: string } }
      console.log(`     ${body.type} ${event.id} ${event.type.padEnd(6)} ${event.data.name}${body.previous_standard === null ? "" : `, previous_standard ${body.previous_standard}`}`)
      return line
    })
    const identical = lines.length === exported.length && lines.every((line, index) => line === exported[index])
    console.log(`   In A's order, each once, byte-equal to the exported lines: ${identical ? "yes" : "NO"}`)
    console.log(`   Moved to s3://${doneBucket}: ${(await listAllKeys(client, doneBucket)).join(", ")}`)
    console.log(`   Left in s3://${bucket}: ${(await listAllKeys(client, bucket)).join(", ") || "nothing"}`)
    console.log(`   Importer state on platform B: ${platformB.connectors.get(connectorId)?.state ?? "none"}`)
    platformB.assertNoInvalidDocuments()
    if (!identical) throw new Error("platform B did not receive exactly the exported events")
  } finally {
    client.destroy()
    await platformB.close()
    await broker.close()
  }
}
