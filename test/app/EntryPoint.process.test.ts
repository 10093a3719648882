import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import { startProcess, stopWhen } from "../support/ConnectorProcess.js"
import { dockerfileStages, execForm, targetInstructions } from "../support/Dockerfile.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"

// Runs the image's entry point as the Dockerfile declares it (default target, no command), in the
// project directory as in the image's WORKDIR, over the built CLI: `npm test` builds it first.

const appDirectory = fileURLToPath(new URL("../..", import.meta.url))
const stages = dockerfileStages()
const defaultTarget = stages.at(-1)
const runtime = defaultTarget === undefined ? [] : targetInstructions(stages, defaultTarget)
const entryPoint = [...(execForm(runtime, "ENTRYPOINT") ?? []), ...(execForm(runtime, "CMD") ?? [])]

/** The environment of the one service of a Python connector's compose file. */
const composeEnvironment = (file: string): Record<string, string> => {
  const compose = parse(readFileSync(new URL(`../fixtures/python-compose/${file}`, import.meta.url), "utf8")) as {
    services: Record<string, { environment: ReadonlyArray<string> }>
  }
  const [service] = Object.values(compose.services)
  return Object.fromEntries((service?.environment ?? []).map((entry) => {
    const at = entry.indexOf("=")
    return [entry.slice(0, at), entry.slice(at + 1).trim()]
  }))
}

const TOKEN = "entry-point-token"
const CONNECTOR_ID = "7b3e9c1d-2a4f-4b6e-9c8d-0e1f2a3b4c5d"

let openCti: OpenCtiStandIn
beforeAll(async () => {
  openCti = await startOpenCtiStandIn({ token: TOKEN })
})
afterAll(async () => {
  await openCti.close()
})

/** The entry point with a Python compose environment, pointed at the stand-in; stopped once it registered or ended. */
const runEntryPoint = async (env: Record<string, string>) => {
  const run = startProcess(entryPoint, { ...env, OPENCTI_URL: openCti.url, OPENCTI_TOKEN: TOKEN, CONNECTOR_ID }, appDirectory)
  await stopWhen(run, () => openCti.connectors.get(CONNECTOR_ID) !== undefined, "the connector to register")
  const chosen = run.logs().find((line) => line.message === "Connector chosen from the environment")?.attributes?.["command"]
  const registered = openCti.connectors.get(CONNECTOR_ID)
  if (registered !== undefined) openCti.connectors.delete(CONNECTOR_ID)
  return { run, chosen, registered }
}

describe("the image's entry point, run without a command", () => {
  it("is the CLI without a command", () => {
    assert.deepStrictEqual(entryPoint, ["node", "dist/main.js"])
  })

  it.each([
    { file: "s3.yml", imageType: "EXTERNAL_IMPORT", command: "s3-import", type: "EXTERNAL_IMPORT" },
    { file: "stream-exporter.yml", imageType: "STREAM", command: "stream-export", type: "STREAM" }
  ])("starts $command with the environment of $file, with and without the Python image's CONNECTOR_TYPE", async ({ file, imageType, command, type }) => {
    for (const env of [composeEnvironment(file), { CONNECTOR_TYPE: imageType, ...composeEnvironment(file) }]) {
      const { run, chosen, registered } = await runEntryPoint(env)
      assert.strictEqual(chosen, command, run.stderr())
      assert.strictEqual(registered?.type, type, run.stderr())
    }
  })

  it.each([
    { file: "s3.config.yml", command: "s3-import", type: "EXTERNAL_IMPORT" },
    { file: "stream-exporter.config.yml", command: "stream-export", type: "STREAM" }
  ])("starts $command with the Python sample $file as its only configuration", async ({ file, command, type }) => {
    const { run, chosen, registered } = await runEntryPoint({ CONFIG_FILE: fileURLToPath(new URL(`../fixtures/python-compose/${file}`, import.meta.url)) })
    assert.strictEqual(chosen, command, run.stderr())
    assert.strictEqual(registered?.type, type, run.stderr())
  })

  it.each(["stream-importer.yml", "stream-importer-6.5.3.yml"])("chooses stream-import with the environment of %s", async (file) => {
    const { run, chosen } = await runEntryPoint({ CONNECTOR_TYPE: "EXTERNAL_IMPORT", ...composeEnvironment(file) })
    assert.strictEqual(chosen, "stream-import", run.stderr())
  })

  it("stops with a message naming the commands when the environment fits several connectors", async () => {
    const { run, chosen, registered } = await runEntryPoint({ ...composeEnvironment("s3.yml"), ...composeEnvironment("stream-importer.yml") })
    assert.strictEqual((await run.exited).code, 1)
    assert.isUndefined(chosen)
    assert.isUndefined(registered)
    const error = run.logs().find((line) => line.level === "ERROR")
    assert.include(String(error?.message), "s3-import (S3_BUCKET_NAME), stream-import (MINIO_SRC_PATH)")
    assert.include(String(error?.message), "run one of the commands s3-import, stream-export or stream-import")
  })
})
