import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { startProcess, stopWhen } from "../support/ConnectorProcess.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"

// Runs a copy of the built CLI laid out as in the image (`<app>/dist`, `<app>/node_modules`,
// `<app>/config.yml`) from another working directory: `npm test` builds it first.

const project = fileURLToPath(new URL("../..", import.meta.url))
const TOKEN = "config-file-token"
const SECRET = "s3cr3t-from-the-file"
const GATEWAY_KEY = "gateway-key-from-the-file"
const CONNECTOR_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

let openCti: OpenCtiStandIn
let root: string
let app: string
let work: string

const configYml = (bucket: string) => `opencti:
  url: '{URL}'
  token: '${TOKEN}'
  custom_headers: 'X-Gateway-Key:${GATEWAY_KEY}'
connector:
  id: '${CONNECTOR_ID}'
  log_level: 'info'
s3:
  bucket_name: '${bucket}'
  endpoint_url: 'http://127.0.0.1:1'
  access_key_id: 'access'
  secret_access_key: '${SECRET}'
`

beforeAll(async () => {
  openCti = await startOpenCtiStandIn({ token: TOKEN })
  root = await mkdtemp(join(tmpdir(), "config-file-"))
  app = join(root, "app")
  work = join(root, "work")
  await mkdir(work, { recursive: true })
  await cp(join(project, "dist"), join(app, "dist"), { recursive: true })
  await cp(join(project, "package.json"), join(app, "package.json"))
  await symlink(join(project, "node_modules"), join(app, "node_modules"), "dir")
  await writeFile(join(app, "config.yml"), configYml("from-the-app-directory").replace("{URL}", openCti.url))
})

afterAll(async () => {
  await openCti.close()
  await rm(root, { recursive: true, force: true })
})

/** The S3 import from the copied app, in `work`, with no variable set; stopped once it registered. */
const runImport = async () => {
  const run = startProcess(["node", join(app, "dist", "main.js"), "s3-import"], {}, work)
  await stopWhen(run, () => openCti.connectors.get(CONNECTOR_ID) !== undefined, "the connector to register")
  if (openCti.connectors.get(CONNECTOR_ID) !== undefined) openCti.connectors.delete(CONNECTOR_ID)
  const line = run.logs().find((log) => log.message === "Effective configuration")
  return { run, attributes: line?.attributes ?? {} }
}

describe("config.yml", () => {
  it("is read from the app directory, where the Python images read it, and the start-up log names it with the configuration, secrets redacted", async () => {
    const { run, attributes } = await runImport()
    assert.strictEqual(attributes["config_file"], join(app, "config.yml"), run.stderr())
    const configuration = attributes["configuration"] as Record<string, string>
    assert.strictEqual(configuration["S3_BUCKET_NAME"], "from-the-app-directory")
    assert.strictEqual(configuration["OPENCTI_URL"], openCti.url)
    assert.strictEqual(configuration["S3_INTERVAL"], "30")
    assert.strictEqual(configuration["OPENCTI_TOKEN"], "<redacted>")
    assert.strictEqual(configuration["S3_SECRET_ACCESS_KEY"], "<redacted>")
    assert.strictEqual(configuration["OPENCTI_CUSTOM_HEADERS"], "<redacted>")
    assert.notInclude(run.stderr(), TOKEN)
    assert.notInclude(run.stderr(), SECRET)
    assert.notInclude(run.stderr(), GATEWAY_KEY)
    assert.strictEqual(run.logs().filter((log) => log.message === "Effective configuration").length, 1)
  })

  it("in the working directory wins over the app directory's", async () => {
    await writeFile(join(work, "config.yml"), configYml("from-the-working-directory").replace("{URL}", openCti.url))
    try {
      const { run, attributes } = await runImport()
      assert.strictEqual(attributes["config_file"], join(work, "config.yml"), run.stderr())
      assert.strictEqual((attributes["configuration"] as Record<string, string>)["S3_BUCKET_NAME"], "from-the-working-directory")
    } finally {
      await rm(join(work, "config.yml"))
    }
  })
})
