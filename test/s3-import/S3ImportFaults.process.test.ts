import type { S3Client } from "@aws-sdk/client-s3"
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { startConnector } from "../support/ConnectorProcess.js"
import type { ConnectorRun, LogLine } from "../support/ConnectorProcess.js"
import { Fault } from "../support/FaultProxy.js"
import { assertStopEndsAtDeadline, faultStarted, processRuns, runEnded, slack } from "../support/ProcessRuns.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { declarePushQueue } from "../support/RabbitMqQueues.js"
import { malwareBundle } from "../support/SampleBundles.js"
import { createBucket, listAllKeys, putObjects } from "../support/S3Bucket.js"
import { makeS3Client, startS3Server } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { freePort } from "../support/waiting.js"
import { importerEnv } from "./importing.js"

// The built CLI (`node dist/main.js s3-import`) behind a fault-injecting proxy: each stalled or broken
// call ends the run with exit 1 within its timeout, naming the phase and the file, which stays.

const token = "faults-token"
const connectorId = "7b1e3c52-9a4d-4f6e-8c2b-1d0f9e8a7c65"
/** Seconds: the timeouts the runs are given. */
const timeout = 3

let s3: S3ServerHandle
let client: S3Client
let openCti: OpenCtiStandIn
let bucket: string
let bucketCount = 0
const processes = processRuns()

beforeAll(async () => {
  s3 = await startS3Server()
  client = makeS3Client(s3)
})

afterAll(async () => {
  client.destroy()
  await s3.close()
})

beforeEach(async () => {
  openCti = await startOpenCtiStandIn({ token })
  bucket = `faults-${++bucketCount}`
  await createBucket(client, bucket)
  // File two is large enough for its body to be cut mid-way; each carries a marker to match on.
  await putObjects(client, bucket, [
    { key: "ACI_TI/1.json", body: malwareBundle("marker-one") },
    { key: "ACI_TI/2.json", body: malwareBundle(`marker-two ${"x".repeat(200_000)}`) },
    { key: "ACI_TI/3.json", body: malwareBundle("marker-three") }
  ])
})

afterEach(async () => {
  await processes.cleanUp()
  await openCti.close()
})

const env = (overrides: Record<string, string> = {}): Record<string, string> =>
  importerEnv(openCti, s3, { token, id: connectorId, bucket }, {
    CONNECTOR_NAME: "S3",
    OPENCTI_REQUEST_TIMEOUT_SEC: String(timeout),
    S3_BUCKET_PREFIXES: "ACI_TI",
    S3_REQUEST_TIMEOUT_SEC: String(timeout),
    ...overrides
  })

const start = (overrides: Record<string, string>) => {
  const run = startConnector("s3-import", env(overrides))
  return processes.track(run)
}

const failureLine = (run: ConnectorRun): LogLine | undefined => run.logs().findLast((line) => line.level === "ERROR" && line.attributes?.["phase"] !== undefined)

const keys = () => listAllKeys(client, bucket, { prefix: "ACI_TI/" })

const pushedNames = () => openCti.bundlePushes.bundles.map((pushed) => (JSON.parse(pushed.raw) as { objects: Array<{ name: string }> }).objects[0]?.name.split(" ")[0])

/** Exit 1 within the bound, one error line naming the phase and file two, and files two and three kept. */
const assertFailedOnFileTwo = async (run: ConnectorRun, exit: { readonly code: number | null; readonly seconds: number }, phase: string, bound: number) => {
  assert.strictEqual(exit.code, 1, run.stderr())
  assert.isBelow(exit.seconds, bound + slack, "the run ends within its bound")
  const failure = failureLine(run)
  assert.deepInclude(failure?.attributes ?? {}, { phase, bucket, key: "ACI_TI/2.json" }, run.stderr())
  assert.includeMembers(await keys(), ["ACI_TI/2.json", "ACI_TI/3.json"])
}

describe("s3-import under faults", () => {
  it("a file whose body stalls mid-way: exit 1 after S3_REQUEST_TIMEOUT_SEC, naming fetch and the file", async () => {
    const proxy = await processes.proxyTo(s3.endpoint)
    const stalled = proxy.inject(Fault.stall(20_000), { when: /GET \/[^ ]*ACI_TI\/2\.json/ })
    const since = performance.now()
    const run = start({ S3_ENDPOINT_URL: proxy.url })
    await faultStarted(stalled, run)
    const exit = await runEnded(run, since)

    await assertFailedOnFileTwo(run, exit, "fetch", timeout)
    assert.include(String(failureLine(run)?.message), "S3_REQUEST_TIMEOUT_SEC")
    assert.deepStrictEqual(pushedNames(), ["marker-one"])
    assert.strictEqual(openCti.works.all[0]?.toProcessed?.inError, true)
  })

  it("a connection reset mid-body: exit 1, naming fetch and the file", async () => {
    const proxy = await processes.proxyTo(s3.endpoint)
    const reset = proxy.inject(Fault.reset(20_000), { when: /GET \/[^ ]*ACI_TI\/2\.json/ })
    const since = performance.now()
    const run = start({ S3_ENDPOINT_URL: proxy.url })
    await faultStarted(reset, run)
    await assertFailedOnFileTwo(run, await runEnded(run, since), "fetch", timeout)
    assert.deepStrictEqual(pushedNames(), ["marker-one"])
  })

  it("a platform that stops answering a push: exit 1 after OPENCTI_REQUEST_TIMEOUT_SEC, naming send and the file", async () => {
    const proxy = await processes.proxyTo(openCti.url)
    const stalled = proxy.inject(Fault.stall(), { when: /stixBundlePush[\s\S]*marker-two/ })
    const since = performance.now()
    const run = start({ OPENCTI_URL: proxy.url })
    await faultStarted(stalled, run)
    const exit = await runEnded(run, since)

    await assertFailedOnFileTwo(run, exit, "send", timeout)
    assert.include(String(failureLine(run)?.message), "OPENCTI_REQUEST_TIMEOUT_SEC")
    assert.notInclude(await keys(), "ACI_TI/1.json")
  })

  it("an S3 endpoint that refuses connections: exit 1 naming list, every file kept", async () => {
    const proxy = await processes.proxyTo(s3.endpoint)
    await proxy.inject(Fault.refuse)
    const since = performance.now()
    const run = start({ S3_ENDPOINT_URL: proxy.url })
    const exit = await runEnded(run, since)

    assert.strictEqual(exit.code, 1, run.stderr())
    assert.isBelow(exit.seconds, timeout + slack)
    assert.deepInclude(failureLine(run)?.attributes ?? {}, { phase: "list", bucket }, run.stderr())
    assert.lengthOf(await keys(), 3)
  })

  it("slow but answering endpoints, under their timeouts: every file imported, exit 0", async () => {
    const [storage, platform] = [await processes.proxyTo(s3.endpoint), await processes.proxyTo(openCti.url)]
    await Promise.all([storage.inject(Fault.latency(300)), platform.inject(Fault.latency(300))])
    const run = start({ S3_ENDPOINT_URL: storage.url, OPENCTI_URL: platform.url })
    assert.strictEqual((await run.exited).code, 0, run.stderr())
    assert.deepStrictEqual(await keys(), [])
    assert.deepStrictEqual(pushedNames(), ["marker-one", "marker-two", "marker-three"])
  })

  it("SIGTERM while a fetch is stalled: the stop ends within CONNECTOR_SHUTDOWN_TIMEOUT_SEC, exit 1", async () => {
    const proxy = await processes.proxyTo(s3.endpoint)
    const stalled = proxy.inject(Fault.stall(20_000), { when: /GET \/[^ ]*ACI_TI\/2\.json/ })
    const run = start({ S3_ENDPOINT_URL: proxy.url, S3_REQUEST_TIMEOUT_SEC: "600", CONNECTOR_SHUTDOWN_TIMEOUT_SEC: "2" })
    await faultStarted(stalled, run)
    await assertStopEndsAtDeadline(run, 2)
    assert.includeMembers(await keys(), ["ACI_TI/2.json", "ACI_TI/3.json"])
  })

  it("SIGTERM, then a failure while draining: exit 1 naming the phase and the file, not a clean stop", async () => {
    const proxy = await processes.proxyTo(openCti.url)
    const stalled = proxy.inject(Fault.stall(), { when: /stixBundlePush[\s\S]*marker-two/ })
    const run = start({ OPENCTI_URL: proxy.url, CONNECTOR_SHUTDOWN_TIMEOUT_SEC: "60" })
    await faultStarted(stalled, run)
    const since = performance.now()
    run.child.kill("SIGTERM")
    await assertFailedOnFileTwo(run, await runEnded(run, since), "send", timeout)
    assert.isTrue(run.logs().some((line) => line.message === "Files held at stop could not all be imported; they stay in the bucket"))
  })
})

describe("s3-import over AMQP under faults", () => {
  it("a broker that stops answering: /readyz turns 503 once no progress is made for the longest timeout, then exit 1 naming send and the file", async () => {
    const broker = await startRabbitMq()
    try {
      await declarePushQueue(broker, connectorId)
      await openCti.close()
      openCti = await startOpenCtiStandIn({ token, rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
      const proxy = await processes.proxyTo(`http://${broker.host}:${broker.port}`)
      // The message carries the bundle in base64: file two's long run of "x" reads "eHh4eHh4...".
      const stalled = proxy.inject(Fault.stall(), { when: /(?:eHh4){50}/ })
      const port = await freePort()
      const run = start({ CONNECTOR_QUEUE_PROTOCOL: "amqp", MQ_HOST: proxy.host, MQ_PORT: String(proxy.port), CONNECTOR_EXPOSE_HEALTH: "true", CONNECTOR_METRICS_PORT: String(port) })
      await faultStarted(stalled, run)
      const since = performance.now()
      const readiness = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status
      const deadline = performance.now() + (timeout + slack) * 1000
      while ((await readiness()) !== 503) {
        assert.isBelow(performance.now(), deadline, "/readyz reports the stall")
        await sleep(250)
      }
      assert.strictEqual((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, "alive, though not ready")
      // amqplib notices a silent broker after two missed heartbeats of 10 s.
      await assertFailedOnFileTwo(run, await runEnded(run, since), "send", 30)
    } finally {
      await broker.close()
    }
  }, 120_000)
})
