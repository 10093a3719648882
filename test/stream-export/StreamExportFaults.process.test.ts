import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "vitest"
import { startConnector } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { Fault } from "../support/FaultProxy.js"
import { assertStopEndsAtDeadline, faultStarted, processRuns, runEnded, slack } from "../support/ProcessRuns.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent, syntheticEvents } from "../support/opencti/streamEvents.js"
import { startS3Server } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { waitFor } from "../support/waiting.js"
import { connectorState, exporterEnv } from "./exporting.js"

// The built CLI (`node dist/main.js stream-export`) behind a fault-injecting proxy: a stalled write or
// a silent live stream ends the run with exit 1 within its bound; a stop during a stall too.

const token = "faults-token"
const connectorId = "5d3a1f7e-2c4b-4e8d-9a6f-0b1c2d3e4f5a"
/** Seconds: the timeouts the runs are given. */
const timeout = 3
const objectWrite = /PUT \/export\/[^ ]*stream_\d+_1\.json/

let s3: S3ServerHandle
let openCti: OpenCtiStandIn
/** Each test exports into a folder of its own, which its state numbers from 1. */
let folder: string
let folderCount = 0
const processes = processRuns()

beforeAll(async () => {
  s3 = await startS3Server()
})

afterAll(async () => {
  await s3.close()
})

beforeEach(async () => {
  openCti = await startOpenCtiStandIn({ token, stream: { events: syntheticEvents(20), heartbeatIntervalMs: 300 } })
  folder = `faults-${++folderCount}`
})

afterEach(async () => {
  await processes.cleanUp()
  await openCti.close()
})

const start = (overrides: Record<string, string>) => {
  const run = startConnector("stream-export", exporterEnv(openCti, s3, { token, id: connectorId }, {
    CONNECTOR_LOG_LEVEL: "info",
    OPENCTI_REQUEST_TIMEOUT_SEC: String(timeout),
    MINIO_REQUEST_TIMEOUT_SEC: String(timeout),
    WRITE_EVERY_SEC: "1",
    MINIO_FOLDER: folder,
    ...overrides
  }))
  return processes.track(run)
}

const failureLine = (run: ConnectorRun) => run.logs().findLast((line) => line.level === "ERROR")

describe("stream-export under faults", () => {
  it("a write MinIO never answers: exit 1 after MINIO_REQUEST_TIMEOUT_SEC, naming write and the object", async () => {
    const minio = await processes.proxyTo(s3.endpoint)
    const stalled = minio.inject(Fault.stall(), { when: objectWrite })
    const run = start({ MINIO_ENDPOINT: minio.host, MINIO_PORT: String(minio.port) })
    await faultStarted(stalled, run)
    const exit = await runEnded(run, performance.now())

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, timeout + slack)
    const failure = failureLine(run)
    assert.strictEqual(failure?.attributes?.["phase"], "write", run.stderr())
    assert.match(String(failure?.attributes?.["key"]), new RegExp(`^${folder}/stream_\\d+_1\\.json$`))
    assert.include(String(failure?.message), "MINIO_REQUEST_TIMEOUT_SEC")
    assert.strictEqual(connectorState(openCti, connectorId).file_count, 0, "the object is not committed")
  })

  it("a file download the platform never finishes: exit 1 after OPENCTI_REQUEST_TIMEOUT_SEC, naming enrich and the event, nothing exported without it", async () => {
    await openCti.close()
    const withFile = {
      id: "malware--00000000-0000-4000-8000-000000000001",
      type: "malware",
      name: "m1",
      extensions: { [OPENCTI_EXTENSION]: { type: "Malware", files: [{ name: "report.txt", uri: "/storage/get/import/Malware/report.txt", mime_type: "text/plain" }] } }
    }
    openCti = await startOpenCtiStandIn({ token, stream: { events: [platformEvent("create", withFile, { id: "1730000000001-0" })], heartbeatIntervalMs: 300 } })
    openCti.files.put("import/Malware/report.txt", "the report")
    const platform = await processes.proxyTo(openCti.url)
    const stalled = platform.inject(Fault.stall(), { when: /GET \/storage\/get\// })
    const run = start({ OPENCTI_URL: platform.url })
    await faultStarted(stalled, run)
    const exit = await runEnded(run, performance.now())

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, timeout + slack)
    assert.deepInclude(failureLine(run)?.attributes ?? {}, { phase: "enrich", eventId: "1730000000001-0" }, run.stderr())
    assert.include(String(failureLine(run)?.message), "OPENCTI_REQUEST_TIMEOUT_SEC")
    assert.strictEqual(connectorState(openCti, connectorId).file_count, 0)
  })

  it("a live stream that goes silent: exit 1 after CONNECTOR_LIVE_STREAM_WATCHDOG_SEC", async () => {
    const platform = await processes.proxyTo(openCti.url)
    const run = start({ OPENCTI_URL: platform.url, CONNECTOR_LIVE_STREAM_WATCHDOG_SEC: "2" })
    // Connected, and idle: the events there are written, and the exporter has the answer to their commit.
    await waitFor(() => run.logs().some((line) => line.message === "Batch written"), 30_000, "the first batch, committed")
    const since = performance.now()
    await platform.inject(Fault.stall())
    const exit = await runEnded(run, since)

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, 2 + slack)
    assert.strictEqual(failureLine(run)?.attributes?.["reason"], "watchdog", run.stderr())
  })

  it("SIGTERM while a write is stalled: the stop ends within CONNECTOR_SHUTDOWN_TIMEOUT_SEC, exit 1", async () => {
    const minio = await processes.proxyTo(s3.endpoint)
    const stalled = minio.inject(Fault.stall(), { when: objectWrite })
    const run = start({ MINIO_ENDPOINT: minio.host, MINIO_PORT: String(minio.port), MINIO_REQUEST_TIMEOUT_SEC: "600", CONNECTOR_SHUTDOWN_TIMEOUT_SEC: "2" })
    await faultStarted(stalled, run)
    await assertStopEndsAtDeadline(run, 2)
  })

  it("SIGTERM, then a write that fails while draining: exit 1 naming write and the object, not a clean stop", async () => {
    const minio = await processes.proxyTo(s3.endpoint)
    const stalled = minio.inject(Fault.stall(), { when: objectWrite })
    const run = start({ MINIO_ENDPOINT: minio.host, MINIO_PORT: String(minio.port), CONNECTOR_SHUTDOWN_TIMEOUT_SEC: "60" })
    await faultStarted(stalled, run)
    const since = performance.now()
    run.child.kill("SIGTERM")
    const exit = await runEnded(run, since)

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, timeout + slack)
    assert.strictEqual(failureLine(run)?.attributes?.["phase"], "write", run.stderr())
    assert.isTrue(run.logs().some((line) => line.message === "Events held at stop could not be written; they are exported again after the restart"))
  })
})
