import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { makeGraphqlTransport } from "../../src/opencti/GraphqlTransport.js"

/** A transport on a platform that answers each request with the next of `answers` (the last one repeats). */
const transportAnswering = (answers: ReadonlyArray<() => Response>, settings: Record<string, string> = {}) => {
  const requests: Array<string> = []
  const http = Layer.succeed(HttpClient.HttpClient, HttpClient.make((request, url) => {
    requests.push(`${request.method} ${url.href} ${request.headers["authorization"]}`)
    const answer = answers[Math.min(requests.length, answers.length) - 1] ?? (() => new Response("", { status: 500 }))
    return Effect.succeed(HttpClientResponse.fromWeb(request, answer()))
  }))
  const config = OpenCtiConfig.layer({ type: "STREAM", name: "Test", scope: ["stream"] }).pipe(
    Layer.provide(layerRecord({ OPENCTI_URL: "http://opencti.test/base", OPENCTI_TOKEN: "secret", CONNECTOR_ID: "0d4a0c2e-3e0e-4a8e-9d55-1f6b7f6c1b21", ...settings }))
  )
  return { requests, transport: Effect.flatMap(OpenCtiConfig, makeGraphqlTransport).pipe(Effect.provide(Layer.merge(config, http))) }
}

/** A 200 answer whose body never ends: the headers came, the rest never will. */
const stalledBody = () => new Response(new ReadableStream({ start: () => undefined }))

const aboutVersion = Schema.Struct({ about: Schema.Struct({ version: Schema.String }) })

describe("GraphqlTransport", () => {
  it.effect("sends documents and downloads under the platform URL with the bearer token", () =>
    Effect.gen(function*() {
      const { requests, transport } = transportAnswering([
        () => Response.json({ data: { about: { version: "6.4.0" } } }),
        () => new Response("file content")
      ])
      const { execute, download } = yield* transport
      assert.deepStrictEqual(yield* execute("vulnerabilities", "query { about { version } }", {}, aboutVersion), { about: { version: "6.4.0" } })
      assert.strictEqual(new TextDecoder().decode(yield* download("/storage/get/import/a.txt", 1024)), "file content")
      assert.deepStrictEqual(requests, [
        "POST http://opencti.test/base/graphql Bearer secret",
        "GET http://opencti.test/base/storage/get/import/a.txt Bearer secret"
      ])
    }))

  it.effect("retries 5xx, then answers; a 4xx is not retried", () =>
    Effect.gen(function*() {
      const flaky = transportAnswering([() => new Response("busy", { status: 503 }), () => new Response("ok")])
      const fetched = yield* Effect.forkChild(Effect.flatMap(flaky.transport, ({ download }) => download("/storage/get/a", 1024)))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(new TextDecoder().decode(yield* Fiber.join(fetched)), "ok")
      assert.strictEqual(flaky.requests.length, 2)

      const missing = transportAnswering([() => new Response("gone", { status: 404 })])
      const { download } = yield* missing.transport
      const error = yield* Effect.flip(download("/storage/get/a", 1024))
      assert.deepStrictEqual([error.status, error.retryable, missing.requests.length], [404, false, 1])
    }))

  it.effect("fails a body that stops coming after OPENCTI_REQUEST_TIMEOUT_SEC, without asking a stalled platform again", () =>
    Effect.gen(function*() {
      const { requests, transport } = transportAnswering([stalledBody])
      const { download } = yield* transport
      const fetched = yield* Effect.forkChild(Effect.flip(download("/storage/get/a", 1024)))
      yield* TestClock.adjust("1 hour")
      const error = yield* Fiber.join(fetched)
      assert.strictEqual(error.message, "no complete answer within 5m (OPENCTI_REQUEST_TIMEOUT_SEC)")
      assert.isTrue(error.retryable, "transient: the exporter stops rather than skip a file")
      assert.strictEqual(requests.length, 1)
    }))

  it.effect("takes its timeout from OPENCTI_REQUEST_TIMEOUT_SEC", () =>
    Effect.gen(function*() {
      const { transport } = transportAnswering([stalledBody], { OPENCTI_REQUEST_TIMEOUT_SEC: "7" })
      const { download } = yield* transport
      const fetched = yield* Effect.forkChild(Effect.flip(download("/storage/get/a", 1024)))
      yield* TestClock.adjust("6 seconds")
      assert.isUndefined(fetched.pollUnsafe())
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(fetched)).message, "no complete answer within 7s (OPENCTI_REQUEST_TIMEOUT_SEC)")
    }))

  it.effect("refuses a file past the byte limit, announced or not, without asking again", () =>
    Effect.gen(function*() {
      const announced = transportAnswering([() => new Response("x".repeat(2048), { headers: { "content-length": "2048" } })])
      const refused = yield* Effect.flip((yield* announced.transport).download("/storage/get/big", 1024))
      assert.deepStrictEqual([refused.retryable, announced.requests.length], [false, 1])
      assert.include(refused.message, "/storage/get/big is 2048 bytes, over the limit of 1024 bytes (EXPORT_MAX_FILE_BYTES)")

      const chunks = ["x".repeat(600), "x".repeat(600)].map((text) => new TextEncoder().encode(text))
      const streamed = transportAnswering([() => new Response(new ReadableStream({ pull: (controller) => {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(next)
      } }))])
      const cut = yield* Effect.flip((yield* streamed.transport).download("/storage/get/big", 1024))
      assert.include(cut.message, "more than 1024 bytes, over the limit of 1024 bytes (EXPORT_MAX_FILE_BYTES)")
      const atTheLimit = yield* (yield* transportAnswering([() => new Response("x".repeat(1024))]).transport).download("/storage/get/a", 1024)
      assert.strictEqual(atTheLimit.byteLength, 1024)
    }))
})
