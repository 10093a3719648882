import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { exportedObjects, exporterEnv } from "../stream-export/exporting.js"
import { testCertificatesScoped } from "../support/Certificates.js"
import { connectorProcess } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { forwardProxyScoped } from "../support/ForwardProxy.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandInOptions } from "../support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent } from "../support/opencti/streamEvents.js"
import { s3ServerScoped } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { waitUntil } from "../support/waiting.js"

// These tests run the built CLI (`node dist/main.js stream-export`), which makes every kind of platform
// request: GraphQL (registration, pings), file downloads and the live stream. `npm test` builds it first.

const TOKEN = "connection-token"
const CONNECTOR_ID = "5b0e6c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2d"

const withFile = platformEvent("create", {
  id: "malware--00000000-0000-4000-8000-000000000001",
  type: "malware",
  name: "m1",
  extensions: { [OPENCTI_EXTENSION]: { type: "Malware", files: [{ name: "report.txt", uri: "/storage/get/import/Malware/report.txt", mime_type: "text/plain" }] } }
}, { id: "1730000000001-0" })

/** A stand-in holding one event with a file, s3rver, and the env of an exporter of the stand-in's stream. */
const platform = (standInOptions: Partial<OpenCtiStandInOptions> = {}) =>
  Effect.gen(function*() {
    const s3 = yield* s3ServerScoped()
    const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events: [withFile], heartbeatIntervalMs: 300 }, ...standInOptions })
    standIn.files.put("import/Malware/report.txt", "the report")
    const env = (overrides: Record<string, string> = {}) =>
      exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, { CONNECTOR_LOG_LEVEL: "info", WRITE_EVERY_SEC: "1", ...overrides })
    return { s3, standIn, env }
  })

/** Waits until the event and its file are exported (a GraphQL registration, a download and the stream behind it), then stops the run. */
const exportsTheEvent = (s3: S3ServerHandle, run: ConnectorRun) =>
  Effect.gen(function*() {
    const objects = yield* waitUntil("the event exported", exportedObjects(s3), (objects) => objects.length > 0, 60).pipe(
      Effect.catchDefect(() => Effect.die(new Error(`nothing exported; the exporter said:\n${run.stderr()}`)))
    )
    assert.strictEqual(objects[0]?.lines[0]?.data.extensions?.[OPENCTI_EXTENSION]?.files?.[0]?.data, Buffer.from("the report").toString("base64"))
    run.child.kill("SIGTERM")
    assert.strictEqual((yield* Effect.promise(() => run.exited)).code, 0, run.stderr())
  })

describe("platform connection (built CLI)", () => {
  it.live("OPENCTI_CUSTOM_HEADERS go with every request kind: GraphQL, file downloads and the live stream; a malformed pair is skipped with a warning", () =>
    Effect.gen(function*() {
      const { s3, standIn, env } = yield* platform()
      const run = yield* connectorProcess("stream-export", env({ OPENCTI_CUSTOM_HEADERS: " x-gateway-key : k1;no-colon-here;; X-Team:blue " }))
      yield* exportsTheEvent(s3, run)
      const seen = [
        ...standIn.calls.map((call) => call.headers),
        ...standIn.files.downloads.map((download) => download.headers),
        ...standIn.stream.connections.map((connection) => connection.request.headers)
      ]
      assert.isAtLeast(standIn.calls.length, 2)
      assert.deepStrictEqual([standIn.files.downloads.length, standIn.stream.connections.length], [1, 1])
      for (const headers of seen) {
        assert.deepStrictEqual([headers["x-gateway-key"], headers["x-team"], headers["authorization"]], ["k1", "blue", `Bearer ${TOKEN}`])
      }
      const warning = run.logs().find((line) => line.level === "WARNING" && String(line.message).includes("OPENCTI_CUSTOM_HEADERS"))
      assert.deepStrictEqual(warning?.attributes, { pair: 2 })
      assert.notInclude(run.stderr(), "no-colon-here")
    }), { timeout: 120_000 })

  it.live("OPENCTI_JSON_LOGGING=false logs plain text lines: time, level, name, message, attributes", () =>
    Effect.gen(function*() {
      const { s3, env } = yield* platform()
      const run = yield* connectorProcess("stream-export", env({ OPENCTI_JSON_LOGGING: "false", CONNECTOR_NAME: "Exporter" }))
      yield* exportsTheEvent(s3, run)
      const lines = run.stderr().split("\n").filter((line) => line !== "")
      assert.isTrue(lines.every((line) => !line.startsWith("{")), run.stderr())
      assert.match(run.stderr(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO Exporter: Connector registered with ID id=5b0e6c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2d type=STREAM$/m)
    }), { timeout: 120_000 })

  it.live("CONNECTOR_LIVE_STREAM_ID unset reads the raw stream, GET {OPENCTI_URL}/stream", () =>
    Effect.gen(function*() {
      const { s3, standIn, env } = yield* platform()
      const { CONNECTOR_LIVE_STREAM_ID: _, ...withoutStreamId } = env()
      const run = yield* connectorProcess("stream-export", withoutStreamId)
      yield* exportsTheEvent(s3, run)
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.request.streamId), [undefined])
    }), { timeout: 120_000 })

  describe("TLS with a CA made by the test", () => {
    it.live("verifies the certificate by default: an unknown CA stops the registration with a message naming OPENCTI_SSL_VERIFY", () =>
      Effect.gen(function*() {
        const certificates = yield* testCertificatesScoped
        const { standIn, env } = yield* platform({ tls: certificates })
        const run = yield* connectorProcess("stream-export", env())
        const exit = yield* Effect.promise(() => run.exited)
        assert.strictEqual(exit.code, 1, run.stderr())
        const failure = run.logs().find((line) => line.level === "ERROR")
        assert.include(String(failure?.message), "OPENCTI_SSL_VERIFY")
        assert.include(String(failure?.message), "PEM CA bundle")
        assert.include(String(failure?.message), "certificate")
        assert.strictEqual(standIn.calls.length, 0)
      }), { timeout: 120_000 })

    it.live("OPENCTI_SSL_VERIFY=<path of the CA> trusts it for GraphQL, downloads and the live stream", () =>
      Effect.gen(function*() {
        const certificates = yield* testCertificatesScoped
        const { s3, env } = yield* platform({ tls: certificates })
        yield* exportsTheEvent(s3, yield* connectorProcess("stream-export", env({ OPENCTI_SSL_VERIFY: certificates.caPath })))
      }), { timeout: 120_000 })

    it.live("OPENCTI_SSL_VERIFY=false does not verify the certificate", () =>
      Effect.gen(function*() {
        const certificates = yield* testCertificatesScoped
        const { s3, env } = yield* platform({ tls: certificates })
        yield* exportsTheEvent(s3, yield* connectorProcess("stream-export", env({ OPENCTI_SSL_VERIFY: "false" })))
      }), { timeout: 120_000 })
  })

  describe("HTTP_PROXY / HTTPS_PROXY / NO_PROXY through a real forward proxy", () => {
    it.live("tunnels the platform (HTTPS) and S3 through the proxy", () =>
      Effect.gen(function*() {
        const certificates = yield* testCertificatesScoped
        const proxy = yield* forwardProxyScoped
        const { s3, standIn, env } = yield* platform({ tls: certificates })
        const run = yield* connectorProcess("stream-export", env({ OPENCTI_SSL_VERIFY: certificates.caPath, HTTPS_PROXY: proxy.url, http_proxy: proxy.url }))
        yield* exportsTheEvent(s3, run)
        const platformHost = new URL(standIn.url).host
        const s3Host = new URL(s3.endpoint).host
        assert.include(proxy.tunnels, platformHost)
        assert.include(proxy.tunnels, s3Host)
        // Every platform request kind went through it: they all arrived, and the only way in was the tunnel.
        assert.deepStrictEqual([standIn.files.downloads.length, standIn.stream.connections.length], [1, 1])
      }), { timeout: 120_000 })

    it.live("goes around the proxy for the hosts NO_PROXY names", () =>
      Effect.gen(function*() {
        const proxy = yield* forwardProxyScoped
        const { s3, env } = yield* platform()
        const run = yield* connectorProcess("stream-export", env({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: "example.org,127.0.0.1" }))
        yield* exportsTheEvent(s3, run)
        assert.deepStrictEqual([proxy.tunnels, proxy.forwarded], [[], []])
      }), { timeout: 120_000 })
  })

  describe("a platform that restarts, a file it cannot serve", () => {
    it.live("the live stream answered 503, then 502, is retried, and the event exported", () =>
      Effect.gen(function*() {
        const { s3, standIn, env } = yield* platform()
        standIn.stream.planConnections({ status: 503 }, { status: 502 })
        const run = yield* connectorProcess("stream-export", env())
        yield* exportsTheEvent(s3, run)
        assert.isTrue(run.logs().some((line) => line.level === "WARNING" && line.message === "Live stream connection lost, reconnecting"))
      }), { timeout: 120_000 })

    it.live("a file the platform still fails to serve stops the exporter before the event, naming the phase and the file", () =>
      Effect.gen(function*() {
        const s3 = yield* s3ServerScoped()
        const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events: [withFile], heartbeatIntervalMs: 300 } })
        const run = yield* connectorProcess("stream-export", exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, { WRITE_EVERY_SEC: "1" }))
        const exit = yield* Effect.promise(() => run.exited)
        assert.strictEqual(exit.code, 1, run.stderr())
        const failure = run.logs().find((line) => line.level === "ERROR")
        assert.deepStrictEqual([failure?.attributes?.["phase"], failure?.attributes?.["key"], failure?.attributes?.["eventId"]], ["enrich", "/storage/get/import/Malware/report.txt", "1730000000001-0"])
        assert.deepStrictEqual(yield* exportedObjects(s3), [])
      }), { timeout: 120_000 })
  })
})
