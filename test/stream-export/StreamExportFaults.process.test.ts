import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { startConnector } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { Fault, startFaultProxy, targetOf } from "../support/FaultProxy.js"
import type { FaultProxy } from "../support/FaultProxy.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { syntheticEvents } from "../support/opencti/streamEvents.js"
import { startS3Server } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { waitFor } from "../support/waiting.js"
import { connectorState, exporterEnv } from "./exporting.js"

// The built CLI (`node dist/main.js stream-export`) behind a fault-injecting proxy: a stalled write or
// a silent live stream ends the run with exit 1 within its bound; a stop during a stall too.

const token = "faults-token"
const connectorId = "5d3a1f7e-2c4b-4e8d-9a6f-0b1c2d3e4f5a"
/** Seconds: the timeouts the runs are given, and the slack a loaded machine may add to a bound. */
const timeout = 3
const slack = 15
const objectWrite = /PUT \/export\/opencti-stream\/stream_/

let s3: S3ServerHandle
let openCti: OpenCtiStandIn
const proxies: Array<FaultProxy> = []
const runs: Array<ConnectorRun> = []

beforeAll(async () => {
  s3 = await startS3Server()
})

afterAll(async () => {
  await s3.close()
})

beforeEach(async () => {
  openCti = await startOpenCtiStandIn({ token, stream: { events: syntheticEvents(20), heartbeatIntervalMs: 300 } })
})

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL")
    await run.exited
  }
  for (const proxy of proxies.splice(0)) await proxy.close()
  await openCti.close()
})

const proxyTo = async (url: string) => {
  const proxy = await startFaultProxy(targetOf(url))
  proxies.push(proxy)
  return proxy
}

const start = (overrides: Record<string, string>) => {
  const run = startConnector("stream-export", exporterEnv(openCti, s3, { token, id: connectorId }, {
    CONNECTOR_LOG_LEVEL: "info",
    OPENCTI_REQUEST_TIMEOUT_SEC: String(timeout),
    MINIO_REQUEST_TIMEOUT_SEC: String(timeout),
    WRITE_EVERY_SEC: "1",
    ...overrides
  }))
  runs.push(run)
  return run
}

/** Waits for the fault to start; past 60 s the test fails with the run's logs. */
const started = (fault: Promise<void>, run: ConnectorRun) =>
  Promise.race([fault, sleep(60_000).then(() => assert.fail(`the fault never started:\n${run.stderr()}`))])

/** The run's exit and the seconds it took from `since` (performance.now() milliseconds). */
const ended = async (run: ConnectorRun, since: number) => {
  const exit = await run.exited
  return { ...exit, seconds: (performance.now() - since) / 1000 }
}

const failureLine = (run: ConnectorRun) => run.logs().findLast((line) => line.level === "ERROR")

describe("stream-export under faults", () => {
  it("a write MinIO never answers: exit 1 after MINIO_REQUEST_TIMEOUT_SEC, naming write and the object", async () => {
    const minio = await proxyTo(s3.endpoint)
    const stalled = minio.inject(Fault.stall(), { when: objectWrite })
    const run = start({ MINIO_ENDPOINT: minio.host, MINIO_PORT: String(minio.port) })
    await started(stalled, run)
    const exit = await ended(run, performance.now())

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, timeout + slack)
    const failure = failureLine(run)
    assert.strictEqual(failure?.attributes?.["phase"], "write", run.stderr())
    assert.match(String(failure?.attributes?.["key"]), /^opencti-stream\/stream_\d+_1\.json$/)
    assert.include(String(failure?.message), "MINIO_REQUEST_TIMEOUT_SEC")
    assert.strictEqual(connectorState(openCti, connectorId).file_count, 0, "the object is not committed")
  })

  it("a live stream that goes silent: exit 1 after CONNECTOR_LIVE_STREAM_WATCHDOG_SEC", async () => {
    const platform = await proxyTo(openCti.url)
    const run = start({ OPENCTI_URL: platform.url, CONNECTOR_LIVE_STREAM_WATCHDOG_SEC: "2" })
    await waitFor(() => openCti.stream.connections.length === 1, 30_000, "the live stream connection")
    const since = performance.now()
    await platform.inject(Fault.stall())
    const exit = await ended(run, since)

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, 2 + slack)
    assert.strictEqual(failureLine(run)?.attributes?.["reason"], "watchdog", run.stderr())
  })

  it("SIGTERM while a write is stalled: the stop ends within CONNECTOR_SHUTDOWN_TIMEOUT_SEC, exit 1", async () => {
    const minio = await proxyTo(s3.endpoint)
    const stalled = minio.inject(Fault.stall(), { when: objectWrite })
    const run = start({ MINIO_ENDPOINT: minio.host, MINIO_PORT: String(minio.port), MINIO_REQUEST_TIMEOUT_SEC: "600", CONNECTOR_SHUTDOWN_TIMEOUT_SEC: "2" })
    await started(stalled, run)
    const since = performance.now()
    run.child.kill("SIGTERM")
    const exit = await ended(run, since)

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, 2 + slack)
    assert.isTrue(run.logs().some((line) => String(line.message).startsWith("The stop did not finish within 2s")), run.stderr())
  })
})
