import type { S3Client } from "@aws-sdk/client-s3"
import { assert, beforeEach, describe, it } from "vitest"
import { readFileSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runConnector, startConnector } from "../support/ConnectorProcess.js"
import { importerEnv, pushedNames as pushedNamesOf, useImportWorld } from "./importing.js"
import { freePort, waitFor } from "../support/waiting.js"
import { malwareBundle } from "../support/SampleBundles.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { listAllKeys, putObjects } from "../support/S3Bucket.js"
import type { S3ServerHandle } from "../support/S3Server.js"

const token = "integration-token"
const connectorId = "2f0c7a3e-6d1b-4c55-9f3e-0a8e4c1d2b3a"

const bundle = malwareBundle

const world = useImportWorld(token, "feed")

let s3: S3ServerHandle
let client: S3Client
let openCti: OpenCtiStandIn
let bucket: string

beforeEach(() => {
  ({ s3, client, openCti, bucket } = world)
})

const env = (overrides: Record<string, string> = {}): Record<string, string> =>
  importerEnv(openCti, s3, { token, id: connectorId, bucket }, overrides)

const keys = (prefix: string) => listAllKeys(client, bucket, { prefix })

const pushedNames = () => pushedNamesOf(openCti)

const padded = (index: number) => String(index).padStart(5, "0")

describe("node dist/main.js s3-import", () => {
  it("imports 1,200 + 30 files across two prefixes, deletes them, keeps folder markers, one work per prefix", async () => {
    await putObjects(client, bucket, [
      { key: "ACI_TI/", body: "" },
      { key: "ACI_Vuln/archive/", body: "" },
      ...Array.from({ length: 1200 }, (_, index) => ({ key: `ACI_TI/${padded(index)}.json`, body: bundle(`ti-${padded(index)}`) })),
      ...Array.from({ length: 30 }, (_, index) => ({ key: `ACI_Vuln/${padded(index)}.json`, body: bundle(`vuln-${padded(index)}`) }))
    ])

    const run = await runConnector("s3-import", env())

    assert.strictEqual(run.code, 0, run.stderr)
    assert.deepStrictEqual([...await keys("ACI_TI"), ...await keys("ACI_Vuln")], ["ACI_TI/", "ACI_Vuln/archive/"])
    assert.deepStrictEqual(pushedNames(), [
      ...Array.from({ length: 1200 }, (_, index) => `ti-${padded(index)}`),
      ...Array.from({ length: 30 }, (_, index) => `vuln-${padded(index)}`)
    ])
    const works = openCti.works.ofConnector(connectorId)
    assert.deepStrictEqual(works.map((work) => [work.name?.split(" run @ ")[0], work.bundles.length, work.toProcessed]), [
      ["S3/ACI_TI", 1200, { message: "Connector successfully processed S3 prefix 'ACI_TI': 1200 file(s) ingested", inError: false }],
      ["S3/ACI_Vuln", 30, { message: "Connector successfully processed S3 prefix 'ACI_Vuln': 30 file(s) ingested", inError: false }]
    ])
    assert.strictEqual(openCti.callsTo("registerConnector").length, 1)
  })

  it("stops at an invalid file: earlier files deleted, it and the later ones kept, the work closed in error", async () => {
    await putObjects(client, bucket, [
      { key: "ACI_TI/1.json", body: bundle("one") },
      { key: "ACI_TI/2.json", body: "{\"type\": \"bundle\", \"objects\": [" },
      { key: "ACI_TI/3.json", body: bundle("three") },
      { key: "ACI_Vuln/1.json", body: bundle("vuln") }
    ])

    const run = await runConnector("s3-import", env())

    assert.notStrictEqual(run.code, 0)
    assert.deepStrictEqual(await keys("ACI_"), ["ACI_TI/2.json", "ACI_TI/3.json", "ACI_Vuln/1.json"])
    assert.deepStrictEqual(pushedNames(), ["one"])
    const [work] = openCti.works.ofConnector(connectorId)
    assert.strictEqual(work?.toProcessed?.inError, true)
    assert.include(work?.toProcessed?.message ?? "", "ACI_TI/2.json")
    const failure = run.logs.find((line) => line.level === "ERROR")
    assert.isDefined(failure, run.stderr)
    assert.include(String(failure?.message), `s3://${bucket}/ACI_TI/2.json`)
    assert.deepInclude(failure?.attributes ?? {}, { phase: "parse", bucket, key: "ACI_TI/2.json" })
    assert.isString(failure?.exc_info)
  })

  it("keeps the file when the platform refuses the push", async () => {
    await putObjects(client, bucket, [
      { key: "ACI_TI/1.json", body: bundle("one") },
      { key: "ACI_TI/2.json", body: bundle("two") }
    ])
    openCti.bundlePushes.failOnCall(2, { kind: "graphql", code: "UNSUPPORTED_ERROR", message: "Invalid bundle" })

    const run = await runConnector("s3-import", env())

    assert.notStrictEqual(run.code, 0)
    assert.deepStrictEqual(await keys("ACI_"), ["ACI_TI/2.json"])
    assert.deepInclude(run.logs.find((line) => line.level === "ERROR")?.attributes ?? {}, { phase: "send", key: "ACI_TI/2.json" })
    assert.strictEqual(openCti.works.ofConnector(connectorId)[0]?.toProcessed?.inError, true)
  })

  it("retries a push that fails with HTTP 5xx and then succeeds", async () => {
    await putObjects(client, bucket, [{ key: "ACI_TI/1.json", body: bundle("one") }])
    openCti.bundlePushes.failNext(2, { kind: "http", status: 502 })

    const run = await runConnector("s3-import", env())

    assert.strictEqual(run.code, 0, run.stderr)
    assert.deepStrictEqual(pushedNames(), ["one"])
    assert.deepStrictEqual(await keys("ACI_"), [])
  })

  it("with delete off, keeps the files and does not send them again", async () => {
    await putObjects(client, bucket, [
      { key: "ACI_TI/1.json", body: bundle("one") },
      { key: "ACI_TI/2.json", body: bundle("two") }
    ])
    const keep = env({ S3_DELETE_AFTER_IMPORT: "false" })

    assert.strictEqual((await runConnector("s3-import", keep)).code, 0)
    assert.strictEqual((await runConnector("s3-import", keep)).code, 0)
    await putObjects(client, bucket, [{ key: "ACI_TI/3.json", body: bundle("three") }])
    assert.strictEqual((await runConnector("s3-import", keep)).code, 0)

    assert.deepStrictEqual(pushedNames(), ["one", "two", "three"])
    assert.deepStrictEqual(await keys("ACI_"), ["ACI_TI/1.json", "ACI_TI/2.json", "ACI_TI/3.json"])
  })

  it("runs a realistic ACI bundle through the ACI profile with platform look-ups", async () => {
    const fixture = new URL("../fixtures/golden/outdated-vulns-partial-filter/", import.meta.url)
    const input = readFileSync(new URL("input.json", fixture))
    const expected = JSON.parse(readFileSync(new URL("expected.json", fixture), "utf8")) as { objects: Array<{ id: string }> }
    const platform = (JSON.parse(readFileSync(new URL("case.json", fixture), "utf8")) as {
      platform: { vulnerability_read: Record<string, { standard_id: string; returns: { x_opencti_modified_at: string | null } | null }> }
    }).platform.vulnerability_read
    for (const entry of Object.values(platform)) {
      if (entry.returns?.x_opencti_modified_at) {
        openCti.knowledge.putVulnerability({ standard_id: entry.standard_id, x_opencti_modified_at: entry.returns.x_opencti_modified_at })
      }
    }
    await putObjects(client, bucket, [{ key: "ACI_Vuln/2026/08/21/outdated-vulns-partial-filter.json", body: input }])

    const run = await runConnector("s3-import", env({ S3_TRANSFORM: "aci", S3_AUTHOR: "Accenture Cyber Threat Intelligence" }))

    assert.strictEqual(run.code, 0, run.stderr)
    const [pushed] = openCti.bundlePushes.bundles
    const sent = JSON.parse(pushed?.raw ?? "{}") as { objects: Array<{ id: string; created_by_ref?: string }> }
    assert.deepStrictEqual(sent.objects.map((object) => object.id), expected.objects.map((object) => object.id))
    assert.strictEqual(sent.objects[0]?.created_by_ref, "identity--33eef3ca-a029-5d36-872d-33289a28c22e")
    assert.isAtLeast(openCti.callsTo("vulnerability").length, 1)
    assert.deepStrictEqual(await keys("ACI_Vuln"), [])
  })

  it("stops cleanly with exit code 0 on SIGTERM between cycles", async () => {
    await putObjects(client, bucket, [{ key: "ACI_TI/1.json", body: bundle("one") }])
    const run = startConnector("s3-import", env({ CONNECTOR_RUN_AND_TERMINATE: "false", S3_INTERVAL: "3600" }))
    try {
      await waitFor(() => openCti.works.all[0]?.toProcessed !== undefined, 45_000, "the first cycle's work to close")
      assert.deepStrictEqual(pushedNames(), ["one"])
      run.child.kill("SIGTERM")
      const exit = await run.exited
      assert.strictEqual(exit.code, 0, run.stderr())
    } finally {
      run.child.kill("SIGKILL")
    }
  })

  it("serves health and Prometheus metrics while it runs", async () => {
    await putObjects(client, bucket, [
      { key: "ACI_TI/1.json", body: bundle("one") },
      { key: "ACI_TI/2.json", body: bundle("two") }
    ])
    const port = await freePort()
    const run = startConnector("s3-import", env({
      CONNECTOR_RUN_AND_TERMINATE: "false",
      S3_INTERVAL: "3600",
      CONNECTOR_EXPOSE_METRICS: "true",
      CONNECTOR_METRICS_PORT: String(port),
      CONNECTOR_METRICS_NAMESPACE: "opencti"
    }))
    try {
      await waitFor(() => openCti.works.all[0]?.toProcessed !== undefined, 45_000, "the first cycle's work to close")
      const base = `http://127.0.0.1:${port}`
      assert.strictEqual((await fetch(`${base}/healthz`)).status, 200)
      assert.include(await (await fetch(`${base}/readyz`)).text(), connectorId)
      // A ping is counted once its answer is read: scrape until the count is the stand-in's (the heartbeat pings at start).
      const pingsAnswered = () => openCti.connectors.get(connectorId)?.pings.length ?? 0
      const pingsCounted = (text: string) => Number(/^opencti_ping_api_total (\d+)$/m.exec(text)?.[1])
      let metrics = ""
      await waitFor(() => pingsAnswered() >= 1, 10_000, "the first ping")
      for (const deadline = Date.now() + 10_000; pingsCounted(metrics) !== pingsAnswered() && Date.now() < deadline;) {
        metrics = await (await fetch(`${base}/metrics`)).text()
      }
      assert.strictEqual(pingsCounted(metrics), pingsAnswered())
      assert.match(metrics, /^opencti_s3_files_imported_total 2$/m)
      assert.match(metrics, /^opencti_s3_files_deleted_total 2$/m)
      assert.match(metrics, /^opencti_bundles_sent_total 2$/m)
      assert.match(metrics, /^opencti_runs_total 1$/m)
      assert.match(metrics, /^opencti_ping_api_errors_total 0$/m)
      // Between two cycles the connector is idle, as pycti's state enum shows it.
      assert.match(metrics, /^opencti_state\{state="idle"\} 1$/m)
      assert.match(metrics, /^opencti_state\{state="running"\} 0$/m)
      assert.match(metrics, /^opencti_state\{state="stopped"\} 0$/m)
    } finally {
      run.child.kill("SIGTERM")
      assert.strictEqual((await run.exited).code, 0, run.stderr())
    }
  })

  it("refuses to start on a bad configuration, naming the variable and the accepted values", async () => {
    const run = await runConnector("s3-import", env({ S3_MARKING: "TLP:PURPLE" }))

    assert.notStrictEqual(run.code, 0)
    const failure = run.logs.find((line) => line.level === "ERROR")
    assert.include(String(failure?.message), "S3_MARKING=\"TLP:PURPLE\" is invalid: expected one of TLP:CLEAR, TLP:WHITE, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED")
    assert.strictEqual(openCti.calls.length, 0)
  })

  it("lets the CLI's --log-level win over CONNECTOR_LOG_LEVEL", async () => {
    await putObjects(client, bucket, [{ key: "ACI_TI/one.json", body: bundle("one") }])
    const quiet = await runConnector("s3-import", env({ CONNECTOR_LOG_LEVEL: "error" }))
    const verbose = await runConnector("s3-import", env({ CONNECTOR_LOG_LEVEL: "error" }), ["--log-level", "info"])

    assert.deepStrictEqual([quiet.code, verbose.code], [0, 0], verbose.stderr)
    assert.deepStrictEqual(quiet.logs, [])
    assert.isTrue(verbose.logs.some((line) => line.level === "INFO"))
  })

  it("names a CONFIG_FILE that cannot be read or parsed, and --help reads none", async () => {
    const directory = await mkdtemp(join(tmpdir(), "config-"))
    const broken = join(directory, "config.yml")
    await writeFile(broken, "opencti:\n  url: [unclosed\n")
    try {
      for (const path of [join(directory, "missing.yml"), broken]) {
        const run = await runConnector("s3-import", env({ CONFIG_FILE: path }))
        assert.notStrictEqual(run.code, 0)
        assert.include(String(run.logs.find((line) => line.level === "ERROR")?.message), `CONFIG_FILE: cannot read ${path}`)
      }
      const help = await runConnector("s3-import", env({ CONFIG_FILE: broken }), ["--help"])
      assert.strictEqual(help.code, 0, help.stderr)
      assert.include(help.stdout, "USAGE")
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it("names a missing required variable", async () => {
    const { S3_BUCKET_NAME: _bucket, ...withoutBucket } = env()
    const run = await runConnector("s3-import", withoutBucket)

    assert.notStrictEqual(run.code, 0)
    assert.include(run.stderr, "S3_BUCKET_NAME is required")
    assert.notInclude(run.stderr, token)
  })
})
