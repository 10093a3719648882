import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { connectorProcess } from "../support/ConnectorProcess.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent } from "../support/opencti/streamEvents.js"
import { s3ServerScoped } from "../support/S3Server.js"
import { waitUntil } from "../support/waiting.js"
import { connectorState, exportedObjects, exporterEnv, idsOf } from "./exporting.js"

// These tests run the built CLI (`node dist/main.js stream-export`): `npm test` builds it first.

const TOKEN = "reset-token"
const CONNECTOR_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
const recoverMs = 1_700_000_000_000

const malware = (n: number) => ({ id: `malware--00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, type: "malware", name: `m${n}` })
const snapshot = Array.from({ length: 5 }, (_, index) => ({
  ...malware(index),
  extensions: { [OPENCTI_EXTENSION]: { type: "Malware", updated_at: new Date(recoverMs - 1_000 + index).toISOString() } }
}))
const live = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) => platformEvent("create", malware(100 + from + index), { id: `${recoverMs + from + index}-0` }))

describe("stream-export process: a reset of the state from the platform's UI", () => {
  it.live("while running: the export starts over from the configured start, numbering its objects after the last one written", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { snapshot, events: live(1, 6), heartbeatIntervalMs: 200 } })
      const env = exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, {
        CONNECTOR_LOG_LEVEL: "info",
        CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: new Date(recoverMs).toISOString(),
        WRITE_EVERY_SEC: "1",
        WRITE_MAX_EVENTS: "4"
      })
      const run = yield* connectorProcess("stream-export", env)
      const state = Effect.sync(() => connectorState(standIn, CONNECTOR_ID))
      yield* waitUntil("the sixth event written", state, (current) => current?.last_written_msg_id === `${recoverMs + 6}-0`)
      const before = (yield* exportedObjects(s3)).length

      standIn.connectors.resetState(CONNECTOR_ID)
      // The next save (the decision of the object holding this event) meets the reset.
      standIn.stream.append(...live(7, 1))
      yield* waitUntil("the seventh event written after the reset", state, (current) => current?.file_count > before && current?.last_written_msg_id === `${recoverMs + 7}-0`)
      run.child.kill("SIGTERM")
      assert.strictEqual((yield* Effect.promise(() => run.exited)).code, 0, run.stderr())

      const objects = yield* exportedObjects(s3)
      assert.deepStrictEqual(objects.map((object) => object.fileNumber), objects.map((_, index) => index + 1))
      const everything = [...snapshot.map((_, index) => `${recoverMs - 1_000 + index}-0`), ...Array.from({ length: 7 }, (_, index) => `${recoverMs + 1 + index}-0`)]
      assert.deepStrictEqual(objects.slice(before).flatMap(idsOf), everything, "the whole stream again, after the last number written")
      assert.deepStrictEqual(objects.slice(0, before).flatMap(idsOf), everything.slice(0, -1))
      assert.strictEqual(connectorState(standIn, CONNECTOR_ID).recover_until, new Date(recoverMs).toISOString())
      assert.isTrue(run.logs().some((line) => String(line.message).startsWith("Connector state reset on the platform")))
    }), { timeout: 60_000 })
})
