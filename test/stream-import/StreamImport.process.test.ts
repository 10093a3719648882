import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { afterAll, beforeAll } from "vitest"
import { runConnector, startConnector } from "../support/ConnectorProcess.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"
import { declarePushQueue, queueDepth, takeMessages } from "../support/RabbitMqQueues.js"

// These tests run the built CLI (`node dist/main.js stream-import`): `npm test` builds it first.

const TOKEN = "importer-token"
const CONNECTOR_ID = "8d0f2b4c-6e8a-4c1e-9f3b-5d7f9b1d3f5a"

let broker: RabbitMqHandle

beforeAll(async () => {
  broker = await startRabbitMq()
})

afterAll(async () => {
  await broker?.close()
})

/** A transfer directory holding `files` under `opencti-stream/`, and its done directory. */
const directories = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await mkdtemp(join(tmpdir(), "stream-import-"))
      await mkdir(join(root, "in", "opencti-stream"), { recursive: true })
      for (const [name, text] of Object.entries(files)) await writeFile(join(root, "in", "opencti-stream", name), text)
      return { input: join(root, "in"), done: join(root, "done"), root }
    }),
    ({ root }) => Effect.promise(() => rm(root, { recursive: true, force: true }))
  )

const line = (id: string) => JSON.stringify({ id, type: "create", data: { id: `malware--${id}` } })

/** One pass of the built importer against a platform B stand-in whose queue is bound (or not). */
const importOnce = (files: Record<string, string>, options: { readonly state?: string; readonly env?: Record<string, string>; readonly connectorId?: string } = {}) =>
  Effect.gen(function*() {
    const connectorId = options.connectorId ?? CONNECTOR_ID
    const dirs = yield* directories(files)
    const platform = yield* openCtiStandInScoped({ token: TOKEN, rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
    if (options.state !== undefined) platform.connectors.seed({ id: connectorId, name: "StreamImporterConnector", type: "EXTERNAL_IMPORT", state: options.state })
    // The push queue of the main connector id; another id has none bound to its routing key.
    const queue = yield* Effect.promise(() => declarePushQueue(broker, CONNECTOR_ID))
    yield* Effect.promise(() => takeMessages(broker, queue.queue))
    const run = yield* Effect.promise(() => runConnector("stream-import", {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: TOKEN,
      CONNECTOR_ID: connectorId,
      CONNECTOR_RUN_AND_TERMINATE: "true",
      IMPORT_DIRECTORY: dirs.input,
      IMPORT_DIRECTORY_DONE: dirs.done,
      MINIO_FOLDER: "opencti-stream",
      ...options.env
    }))
    const messages = yield* Effect.promise(() => takeMessages(broker, queue.queue))
    const left = yield* Effect.promise(() => readdir(join(dirs.input, "opencti-stream")))
    const moved = yield* Effect.promise(() => readdir(join(dirs.done, "opencti-stream")).catch(() => []))
    const state = JSON.parse(platform.connectors.get(connectorId)?.state ?? "null")
    const works = platform.works.ofConnector(connectorId)
    return { run, contents: messages.map((message) => Buffer.from(JSON.parse(message.content.toString("utf8")).content, "base64").toString("utf8")), left: left.sort(), moved: moved.sort(), state, works }
  })

const errorLine = (logs: ReadonlyArray<{ readonly level: string; readonly message: unknown; readonly attributes?: Record<string, unknown> }>) =>
  logs.find((log) => log.level === "ERROR")

describe("stream-import process", () => {
  it.live("one pass with CONNECTOR_RUN_AND_TERMINATE: publishes each file in order, moves it to done, saves file_count, exits 0", () =>
    Effect.gen(function*() {
      const result = yield* importOnce({
        "stream_1700000000200_2.json": `${line("2-0")}\n`,
        "stream_1700000000100_1.json": `${line("1-0")}\n\n${line("1-1")}\n`,
        ".stream_1700000000300_3.json.partial-0a1b2c": "half a fi",
        "notes.txt": "not an export object"
      })
      assert.deepStrictEqual([result.run.code, result.run.signal], [0, null], result.run.stderr)
      assert.deepStrictEqual(result.contents, [line("1-0"), line("1-1"), line("2-0")])
      assert.deepStrictEqual(result.moved, ["stream_1700000000100_1.json", "stream_1700000000200_2.json"])
      assert.deepStrictEqual(result.left, [".stream_1700000000300_3.json.partial-0a1b2c", "notes.txt"])
      assert.deepStrictEqual(result.state, { file_count: 2 })
      assert.deepStrictEqual(result.works.map((work) => work.toProcessed), [{ message: "Stream import processed: 2 object(s) imported, 3 event(s) sent", inError: false }])
    }), { timeout: 120_000 })

  it.live("a gap stops it with exit 1, naming the number expected and what was found; nothing is moved or sent", () =>
    Effect.gen(function*() {
      const result = yield* importOnce({ "stream_1_5.json": `${line("5-0")}\n`, "stream_1_7.json": `${line("7-0")}\n` }, { state: JSON.stringify({ file_count: 4 }) })
      assert.strictEqual(result.run.code, 1)
      const error = errorLine(result.run.logs)
      assert.include(String(error?.message), "expected object 6 next, found opencti-stream/stream_1_7.json (object 7): object 6 is missing")
      assert.strictEqual(error?.attributes?.["phase"], "order")
      assert.deepStrictEqual([result.contents, result.moved, result.left], [[], [], ["stream_1_5.json", "stream_1_7.json"]])
      assert.strictEqual(result.works.at(-1)?.toProcessed?.inError, true)
    }), { timeout: 120_000 })

  it.live("a line that is not a JSON object stops it with exit 1, naming the key and the line; nothing of that file is sent", () =>
    Effect.gen(function*() {
      const result = yield* importOnce({ "stream_1_1.json": `${line("1-0")}\n${line("1-1")}\nnot json\n` })
      assert.strictEqual(result.run.code, 1)
      const error = errorLine(result.run.logs)
      assert.deepStrictEqual([error?.attributes?.["phase"], error?.attributes?.["key"], error?.attributes?.["line"]], ["validate", "opencti-stream/stream_1_1.json", 3])
      assert.deepStrictEqual([result.contents, result.moved], [[], []])
    }), { timeout: 120_000 })

  it.live("an event no queue receives (mandatory, returned) stops it with exit 1; the file stays", () =>
    Effect.gen(function*() {
      const result = yield* importOnce({ "stream_1_1.json": `${line("1-0")}\n` }, { connectorId: "3b5d7f9a-1c3e-4a5b-8d7f-9b1d3f5a7c9e" })
      assert.strictEqual(result.run.code, 1)
      assert.include(String(errorLine(result.run.logs)?.message), "unroutable")
      assert.deepStrictEqual([result.left, result.moved], [["stream_1_1.json"], []])
      assert.strictEqual(result.works.at(-1)?.toProcessed?.inError, true)
    }), { timeout: 120_000 })

  it.live("SIGKILLed in the middle of an object: the restart resumes after the last confirmed line, repeating at most one window", () =>
    Effect.gen(function*() {
      const lines = Array.from({ length: 20_000 }, (_, index) => line(`1-${index}`))
      const dirs = yield* directories({ "stream_1_1.json": `${lines.join("\n")}\n` })
      const platform = yield* openCtiStandInScoped({ token: TOKEN, rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
      const connectorId = "6b8d0f2a-4c6e-4b8d-9f2a-4c6e8b0d2f4a"
      const queue = yield* Effect.promise(() => declarePushQueue(broker, connectorId))
      const window = 100
      const env = {
        OPENCTI_URL: platform.url,
        OPENCTI_TOKEN: TOKEN,
        CONNECTOR_ID: connectorId,
        CONNECTOR_LOG_LEVEL: "info",
        CONNECTOR_RUN_AND_TERMINATE: "true",
        IMPORT_DIRECTORY: dirs.input,
        IMPORT_DIRECTORY_DONE: dirs.done,
        MINIO_FOLDER: "opencti-stream",
        IMPORT_CONFIRM_WINDOW: String(window)
      }
      const first = startConnector("stream-import", env)
      // Killed once a part of the object is in the queue, long before all of it is.
      yield* Effect.promise(async () => {
        for (let poll = 0; poll < 600 && first.child.exitCode === null; poll++) {
          if (await queueDepth(broker, queue.queue) >= 2_000) break
          await sleep(100)
        }
        first.child.kill("SIGKILL")
        await first.exited
      })
      const before = yield* Effect.promise(() => queueDepth(broker, queue.queue))
      assert.isBelow(before, lines.length, "killed in the middle of the object")
      const state = JSON.parse(platform.connectors.get(connectorId)?.state ?? "null")
      assert.strictEqual(state?.in_progress?.file_number, 1)

      const second = yield* Effect.promise(() => runConnector("stream-import", env))
      assert.strictEqual(second.code, 0, second.stderr)
      assert.isTrue(second.logs.some((log) => log.message === "Resuming the object after its last confirmed line"))
      const received = (yield* Effect.promise(() => takeMessages(broker, queue.queue)))
        .map((message) => Buffer.from(JSON.parse(message.content.toString("utf8")).content, "base64").toString("utf8"))
      assert.deepStrictEqual([...new Set(received)], lines)
      assert.isAtMost(received.length - lines.length, window)
      assert.deepStrictEqual(JSON.parse(platform.connectors.get(connectorId)?.state ?? "null"), { file_count: 1 })
    }), { timeout: 180_000 })

  it.live("CONNECTOR_QUEUE_PROTOCOL=api is a start-up error that says events go through RabbitMQ only", () =>
    Effect.gen(function*() {
      const run = yield* Effect.promise(() => runConnector("stream-import", {
        OPENCTI_URL: "http://127.0.0.1:9",
        OPENCTI_TOKEN: TOKEN,
        CONNECTOR_ID,
        CONNECTOR_QUEUE_PROTOCOL: "api",
        IMPORT_DIRECTORY: "/nonexistent/in",
        IMPORT_DIRECTORY_DONE: "/nonexistent/done"
      }))
      assert.strictEqual(run.code, 1)
      assert.include(String(errorLine(run.logs)?.message), "CONNECTOR_QUEUE_PROTOCOL=api is not supported by the stream importer")
    }), { timeout: 60_000 })
})
