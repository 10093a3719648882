import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import type { S3Client } from "@aws-sdk/client-s3"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { startConnector } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { processRuns } from "../support/ProcessRuns.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { malwareBundle } from "../support/SampleBundles.js"
import { createBucket, putObjects } from "../support/S3Bucket.js"
import { makeS3Client, startS3Server } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { freePort, waitFor } from "../support/waiting.js"
import { exporterEnv } from "../stream-export/exporting.js"

const token = "side-by-side-token"

let s3: S3ServerHandle
let client: S3Client
let openCti: OpenCtiStandIn
const processes = processRuns()

beforeAll(async () => {
  s3 = await startS3Server()
  client = makeS3Client(s3)
  openCti = await startOpenCtiStandIn({ token, stream: { heartbeatIntervalMs: 300 } })
})

afterEach(() => processes.cleanUp())

afterAll(async () => {
  client.destroy()
  await openCti.close()
  await s3.close()
})

/** An S3 import polling its own bucket every hour, with every operations setting left to its default. */
const startImport = async (connectorId: string, bucket: string, overrides: Record<string, string> = {}) => {
  await createBucket(client, bucket)
  await putObjects(client, bucket, [{ key: "ACI_TI/1.json", body: malwareBundle(bucket) }])
  const run = startConnector("s3-import", {
    OPENCTI_URL: openCti.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: "info",
    CONNECTOR_QUEUE_PROTOCOL: "api",
    // Empty counts as unset: the default port, 9095.
    CONNECTOR_METRICS_PORT: "",
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET_NAME: bucket,
    S3_TRANSFORM: "none",
    S3_INTERVAL: "3600",
    ...overrides
  })
  return processes.track(run)
}

const cycleDone = (connectorId: string) => () => openCti.works.ofConnector(connectorId).some((work) => work.toProcessed !== undefined)

const running = (run: ConnectorRun) => run.child.exitCode === null && run.child.signalCode === null

describe("connectors side by side on one host", () => {
  it("two imports and an exporter run together with their default settings: none binds a port", async () => {
    const first = await startImport("4a1b2c3d-0000-4000-8000-000000000001", "side-1")
    const second = await startImport("4a1b2c3d-0000-4000-8000-000000000002", "side-2")
    const exporter = processes.track(startConnector("stream-export", exporterEnv(openCti, s3, { token, id: "4a1b2c3d-0000-4000-8000-000000000003" }, { CONNECTOR_LOG_LEVEL: "info", CONNECTOR_METRICS_PORT: "" })))

    await waitFor(cycleDone("4a1b2c3d-0000-4000-8000-000000000001"), 30_000, "the first import's cycle")
    await waitFor(cycleDone("4a1b2c3d-0000-4000-8000-000000000002"), 30_000, "the second import's cycle")
    await waitFor(() => openCti.stream.connections.length === 1, 30_000, "the exporter's live stream")

    for (const run of [first, second, exporter]) {
      assert.isTrue(running(run), run.stderr())
      assert.isFalse(run.logs().some((line) => line.message === "Operations server listening"), run.stderr())
      run.child.kill("SIGTERM")
      assert.strictEqual((await run.exited).code, 0, run.stderr())
    }
  })

  it("with CONNECTOR_EXPOSE_HEALTH=true, serves /healthz and /readyz, and no metrics", async () => {
    const port = await freePort()
    const run = await startImport("4a1b2c3d-0000-4000-8000-000000000004", "side-health", { CONNECTOR_EXPOSE_HEALTH: "true", CONNECTOR_METRICS_PORT: String(port) })
    await waitFor(cycleDone("4a1b2c3d-0000-4000-8000-000000000004"), 30_000, "the import's cycle")

    const base = `http://127.0.0.1:${port}`
    assert.strictEqual(await (await fetch(`${base}/healthz`)).text(), "ok")
    assert.strictEqual(await (await fetch(`${base}/readyz`)).text(), "ready: 4a1b2c3d-0000-4000-8000-000000000004")
    assert.strictEqual((await fetch(`${base}/metrics`)).status, 404)
    run.child.kill("SIGTERM")
    assert.strictEqual((await run.exited).code, 0, run.stderr())
  })

  it("with health or metrics exposed, a busy port stops the connector at start-up, naming CONNECTOR_METRICS_PORT", async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, resolve))
    try {
      const port = (blocker.address() as AddressInfo).port
      const run = await startImport("4a1b2c3d-0000-4000-8000-000000000005", "side-busy", { CONNECTOR_EXPOSE_HEALTH: "true", CONNECTOR_METRICS_PORT: String(port) })
      assert.strictEqual((await run.exited).code, 1, run.stderr())
      const failure = run.logs().find((line) => line.level === "ERROR")
      assert.strictEqual(failure?.attributes?.["variable"], "CONNECTOR_METRICS_PORT", run.stderr())
      assert.include(String(failure?.message), `CONNECTOR_METRICS_PORT=${port}: cannot listen`)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
