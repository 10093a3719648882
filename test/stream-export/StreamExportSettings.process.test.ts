import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { runConnector, startConnector } from "../support/ConnectorProcess.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import { s3ServerScoped } from "../support/S3Server.js"
import { freePort, waitUntil } from "../support/waiting.js"
import { exporterEnv } from "./exporting.js"

// Runs the built CLI (`node dist/main.js stream-export`): `npm test` builds it first.

const TOKEN = "region-token"

/** An S3 endpoint that records the Authorization header of every request and denies it. */
const denyingS3Scoped = Effect.acquireRelease(
  Effect.promise(async () => {
    const authorizations: Array<string> = []
    const server = createServer((request, response) => {
      authorizations.push(request.headers.authorization ?? "")
      response.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code><Message>denied</Message></Error>")
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, port: (server.address() as AddressInfo).port, authorizations }
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

const CONNECTOR_ID = "5d1c7e2a-3f4b-4c5d-8e6f-7a8b9c0d1e2f"

describe("stream-export settings", () => {
  it.live("signs its S3 requests for MINIO_REGION; registers with the scope stream-exporter and logs at info by default, its effective configuration included", () =>
    Effect.gen(function*() {
      const s3 = yield* denyingS3Scoped
      const standIn = yield* openCtiStandInScoped({ token: TOKEN })
      const exit = yield* Effect.promise(() =>
        runConnector("stream-export", {
          OPENCTI_URL: standIn.url,
          OPENCTI_TOKEN: TOKEN,
          CONNECTOR_ID,
          CONNECTOR_LIVE_STREAM_ID: "live",
          MINIO_ENDPOINT: "127.0.0.1",
          MINIO_PORT: String(s3.port),
          MINIO_BUCKET: "export",
          MINIO_ACCESS_KEY: "access",
          MINIO_SECRET_KEY: "secret",
          MINIO_REGION: "eu-west-3"
        }, [], 60_000)
      )
      assert.strictEqual(exit.code, 1, exit.stderr)
      assert.isNotEmpty(s3.authorizations)
      for (const authorization of s3.authorizations) assert.include(authorization, "/eu-west-3/s3/aws4_request")
      assert.deepStrictEqual(standIn.connectors.get(CONNECTOR_ID)?.scope, ["stream-exporter"])
      assert.isTrue(exit.logs.some((line) => line.level === "INFO" && line.message === "Connector registered with ID"))
      const effective = exit.logs.filter((line) => line.message === "Effective configuration")
      assert.lengthOf(effective, 1)
      assert.strictEqual(effective[0]?.attributes?.["config_file"], "none")
      assert.deepInclude(effective[0]?.attributes?.["configuration"], { MINIO_REGION: "eu-west-3", MINIO_SECRET_KEY: "<redacted>", OPENCTI_TOKEN: "<redacted>", CONNECTOR_SCOPE: "stream-exporter" })
    }), { timeout: 90_000 })

  it.live("serves pycti's helper metrics: the pings it made and the running state", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { heartbeatIntervalMs: 300 } })
      const port = yield* Effect.promise(() => freePort())
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          startConnector("stream-export", exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, { CONNECTOR_EXPOSE_METRICS: "true", CONNECTOR_METRICS_PORT: String(port) }))
        ),
        (run) => Effect.promise(async () => {
          run.child.kill("SIGTERM")
          await run.exited
        })
      )
      yield* waitUntil("the exporter reading the stream", Effect.sync(() => standIn.stream.connections.length), (count) => count === 1)
      const pingsAnswered = () => standIn.connectors.get(CONNECTOR_ID)?.pings.length ?? 0
      const scrape = Effect.promise(async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
      // A ping is counted once its answer is read: scrape until the count is the stand-in's.
      const metrics = yield* waitUntil("ping_api_total at the pings answered", scrape, (text) => pingsAnswered() >= 1 && /^ping_api_total (\d+)$/m.exec(text)?.[1] === String(pingsAnswered()))
      assert.match(metrics, /^ping_api_errors_total 0$/m)
      assert.match(metrics, /^state\{state="running"\} 1$/m)
      assert.match(metrics, /^state\{state="idle"\} 0$/m)
      assert.match(metrics, /^state\{state="stopped"\} 0$/m)
    }), { timeout: 90_000 })
})
