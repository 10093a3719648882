import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"
import * as PlatformHttp from "../../src/opencti/PlatformHttp.js"

const config = (env: Record<string, string>) =>
  OpenCtiConfig.layer({ type: "STREAM", name: "Test", scope: ["stream"] }).pipe(
    Layer.provide(layerRecord({ OPENCTI_TOKEN: "token", CONNECTOR_ID: "0d4a0c2e-3e0e-4a8e-9d55-1f6b7f6c1b21", ...env }))
  )

describe("PlatformHttp", () => {
  it.live("does not follow a redirect of a file download into another location", () =>
    Effect.gen(function*() {
      const requested: Array<string> = []
      const server = createServer((request, response) => {
        requested.push(request.url ?? "")
        if (request.url === "/storage/get/import/a.txt") response.writeHead(302, { location: "/elsewhere/a.txt" }).end()
        else response.writeHead(200).end("content from elsewhere")
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const layer = OpenCti.layer.pipe(Layer.provide(PlatformHttp.layer), Layer.provide(config({ OPENCTI_URL: url })))
      const openCti = Context.get(yield* Layer.build(layer), OpenCti)
      const error = yield* Effect.flip(openCti.download("/storage/get/import/a.txt", 1024))
      assert.deepStrictEqual([error.status, error.retryable], [302, false])
      assert.deepStrictEqual(requested, ["/storage/get/import/a.txt"])
    }))

  it.effect("refuses an OPENCTI_SSL_VERIFY that is neither a boolean nor a readable PEM file, naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(OpenCtiConfig, config({ OPENCTI_URL: "https://opencti.test", OPENCTI_SSL_VERIFY: "/nonexistent/ca.pem" })))
      assert.strictEqual(error.variable, "OPENCTI_SSL_VERIFY")
      assert.include(error.message, "PEM CA bundle")
    }))
})
