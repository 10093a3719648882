import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Metric, Option } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { objectDigest } from "../../src/stream-export/EventTrail.js"
import * as StreamExportApp from "../../src/stream-export/StreamExportApp.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent } from "../support/opencti/streamEvents.js"
import { s3ServerScoped } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { waitUntil } from "../support/waiting.js"
import { connectorState, exportedObjects, exporterEnv, idsOf } from "./exporting.js"

const TOKEN = "exporter-token"
const CONNECTOR_ID = "7f0d8d8e-6a7c-4d1b-9d0e-5b8f3c2a1e01"

const malware = (n: number, files: ReadonlyArray<string> = []) => ({
  id: `malware--00000000-0000-4000-8000-00000000000${n}`,
  spec_version: "2.1",
  type: "malware",
  name: `m${n}`,
  extensions: {
    [OPENCTI_EXTENSION]: {
      type: "Malware",
      is_inferred: false,
      files: files.map((name) => ({ name, uri: `/storage/get/import/Malware/${name}`, version: "2024-01-01T00:00:00.000Z", mime_type: "text/plain", object_marking_refs: [] }))
    }
  }
})

const events = [
  platformEvent("create", malware(1, ["report.txt"]), { id: "1730000000001-0" }),
  platformEvent("update", malware(1), { id: "1730000000002-0", context: { patch: [], reverse_patch: [{ op: "replace", path: "/id", value: "malware--previous" }] } }),
  platformEvent("create", malware(2), { id: "1730000000003-0" }),
  platformEvent("delete", malware(2), { id: "1730000000004-0", type: "update" }),
  platformEvent("merge", malware(3), { id: "1730000000005-0" }),
  platformEvent("delete", malware(3), { id: "1730000000006-0" })
]

const env = (standIn: OpenCtiStandIn, s3: S3ServerHandle, overrides: Record<string, string> = {}) =>
  layerRecord(exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, { CONNECTOR_METRICS_PORT: "0", WRITE_EVERY_SEC: "1", WRITE_MAX_EVENTS: "4", ...overrides }))

const exporter = (standIn: OpenCtiStandIn, s3: S3ServerHandle, overrides: Record<string, string> = {}) =>
  StreamExportApp.run.pipe(Effect.provide(StreamExportApp.ConfigLayer), Effect.provide(env(standIn, s3, overrides)))

/** Events the exporters of this process have enriched so far (processed_messages_total, every action). */
const processedEvents = Effect.map(Metric.snapshot, (metrics) =>
  metrics.reduce((sum, metric) => (metric.id === "processed_messages_total" && metric.type === "Counter" ? sum + Number(metric.state.count) : sum), 0))

describe("stream export against the OpenCTI stand-in and an S3 server", () => {
  it.live("exports every event across a dropped connection, files inlined, and commits each object on the platform", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events, retryMs: 20, heartbeatIntervalMs: 200 } })
      standIn.files.put("import/Malware/report.txt", "the report")
      standIn.stream.planConnections({ dropAfterEvents: 3 })
      const fiber = yield* Effect.forkChild(exporter(standIn, s3))
      const objects = yield* waitUntil("six lines exported", exportedObjects(s3), (objects) => objects.flatMap((object) => object.lines).length >= 6)

      assert.deepStrictEqual(objects.map((object) => object.key.replace(/_\d+_/, "_<ms>_")), ["opencti-stream/stream_<ms>_1.json", "opencti-stream/stream_<ms>_2.json"])
      const lines = objects.flatMap((object) => object.lines)
      assert.deepStrictEqual(lines.map((line) => line.id), events.map((event) => event.id))
      assert.deepStrictEqual(lines.map((line) => line.type), ["create", "update", "create", "delete", "merge", "delete"])
      assert.strictEqual(lines[0]?.data.extensions?.[OPENCTI_EXTENSION]?.files?.[0]?.data, Buffer.from("the report").toString("base64"))
      assert.strictEqual(lines[1]?.previous_standard, "malware--previous")
      assert.strictEqual(lines[3]?.data.type, "malware")

      const state = yield* waitUntil("a file count of 2 saved", Effect.sync(() => connectorState(standIn, CONNECTOR_ID)), (state) => state?.file_count === 2)
      assert.deepStrictEqual(state, {
        start_from: "1730000000005-0",
        recover_until: false,
        last_written_msg_id: "1730000000006-0",
        file_count: 2,
        last_written_objects: [objectDigest(JSON.parse(standIn.stream.log.at(5).data).data.id)]
      })
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.request.lastEventId), ["0-0", "1730000000002-0"])
      assert.deepStrictEqual(standIn.files.downloads.map((download) => [download.fileId, download.status]), [["import/Malware/report.txt", 200]])
      standIn.assertNoInvalidDocuments()
      yield* Fiber.interrupt(fiber)
    }))

  it.live("stops on SIGTERM after writing the events it holds, and the next run resumes and numbers on", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events: events.slice(0, 2), heartbeatIntervalMs: 200 } })
      standIn.files.put("import/Malware/report.txt", "the report")
      const before = yield* processedEvents
      const first = yield* Effect.forkChild(exporter(standIn, s3, { WRITE_EVERY_SEC: "3600", WRITE_MAX_EVENTS: "1000" }))
      // Both events enriched (the first with its file) and so past the point a stop cuts the stream at.
      yield* waitUntil("both events processed", processedEvents, (count) => count === before + 2)
      assert.deepStrictEqual(yield* exportedObjects(s3), [])
      const exit = yield* Fiber.interrupt(first).pipe(Effect.andThen(Fiber.await(first)))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
      const held = yield* exportedObjects(s3)
      assert.deepStrictEqual(held.map((object) => [object.fileNumber, idsOf(object)]), [[1, ["1730000000001-0", "1730000000002-0"]]])
      assert.strictEqual(connectorState(standIn, CONNECTOR_ID).file_count, 1)

      standIn.stream.append(...events.slice(2))
      const second = yield* Effect.forkChild(exporter(standIn, s3, { WRITE_MAX_EVENTS: "4" }))
      const objects = yield* waitUntil("two objects exported", exportedObjects(s3), (objects) => objects.length === 2)
      // The restart resumes before the last id written (it may be the head of a group); the event already written is not written again.
      assert.deepStrictEqual(objects[1]?.lines.map((line) => line.id), events.slice(2).map((event) => event.id).slice(0, 4))
      assert.strictEqual(standIn.stream.connections[1]?.request.lastEventId, "1730000000001-0")
      yield* Fiber.interrupt(second)
    }))

  it.live("stops with the reason when the platform refuses the stream (401)", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events } })
      const exit = yield* Effect.exit(exporter(standIn, s3, { CONNECTOR_LIVE_STREAM_ID: "not-a-stream" }))
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value._tag === "LiveStreamError" && error.value.reason === "unauthorized")
      assert.deepStrictEqual(yield* exportedObjects(s3), [])
    }))
})
