import { afterEach, assert, describe, it } from "vitest"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startConnector } from "../support/ConnectorProcess.js"

// Runs the built CLI: `npm test` builds it first.

const directories: Array<string> = []
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

const cacheDirectory = () => {
  const directory = mkdtempSync(join(tmpdir(), "compile-cache-"))
  directories.push(directory)
  return directory
}

/** The text of every file under the cache directory (Node keeps one sub-directory per version). */
const cachedText = (directory: string) =>
  readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), "latin1"))
    .join("\n")

describe("the compile cache", () => {
  it("keeps the compiled code of the connector's own modules, even when the connector is killed once started", async () => {
    const directory = cacheDirectory()
    const server = createServer((request, response) => {
      request.resume()
      response.writeHead(503).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const run = startConnector("stream-export", {
      NODE_COMPILE_CACHE: directory,
      OPENCTI_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      OPENCTI_TOKEN: "token",
      CONNECTOR_ID: "5d1f6a2e-3c4b-4d5e-9f60-718293a4b5c6",
      CONNECTOR_LIVE_STREAM_ID: "live",
      MINIO_ENDPOINT: "127.0.0.1",
      MINIO_PORT: "1",
      MINIO_BUCKET: "bucket",
      MINIO_ACCESS_KEY: "key",
      MINIO_SECRET_KEY: "secret"
    })
    await new Promise<void>((resolve) => server.once("request", () => resolve()))
    run.child.kill("SIGKILL")
    await run.exited
    await new Promise<void>((resolve) => server.close(() => resolve()))
    assert.match(cachedText(directory), /StreamExportApp-\w+\.js/, run.stderr())
  })

  it("is left out, without a word, where its directory cannot be created", async () => {
    const run = startConnector("--help", { NODE_COMPILE_CACHE: "/dev/null/compile-cache" })
    assert.deepStrictEqual((await run.exited).code, 0)
    assert.include(run.stdout(), "SUBCOMMANDS")
    assert.strictEqual(run.stderr(), "")
  })
})
