import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { connectorProcess } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { platformEvent, syntheticEvents } from "../support/opencti/streamEvents.js"
import { s3ServerScoped } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { freePort, waitUntil } from "../support/waiting.js"
import { connectorState, exportedObjects, exporterEnv, idsOf, processedEvents } from "./exporting.js"

// These tests run the built CLI (`node dist/main.js stream-export`): `npm test` builds it first.

const TOKEN = "process-token"
const CONNECTOR_ID = "2c9e4f0a-1b3d-4e5f-8a6b-7c8d9e0f1a2b"

const processEnv = (standIn: OpenCtiStandIn, s3: S3ServerHandle, overrides: Record<string, string> = {}) =>
  exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, { CONNECTOR_LOG_LEVEL: "info", ...overrides })

const exitOf = (run: ConnectorRun) => Effect.promise(() => run.exited)

const malware = (n: number) => ({ id: `malware--00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, type: "malware", name: `m${n}` })

describe("stream-export process", () => {
  it.live("SIGKILLed mid-run again and again: over the union of objects no event is missing and no number is reused", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const initial = 3_000
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { events: syntheticEvents(initial, { payloadBytes: 600 }), heartbeatIntervalMs: 300 } })
      const env = processEnv(standIn, s3, { WRITE_EVERY_SEC: "1", WRITE_MAX_EVENTS: "97" })
      let next = 0
      const appendLive = (count: number) => {
        standIn.stream.append(...Array.from({ length: count }, () => platformEvent("create", malware(next++))))
      }

      for (let round = 0; round < 4; round++) {
        const run = yield* connectorProcess("stream-export", env)
        const before = (yield* exportedObjects(s3)).length
        appendLive(300)
        // Killed while it works: after its first write, at a different moment each round.
        yield* waitUntil("the round's first object", exportedObjects(s3), (objects) => objects.length > before)
        yield* Effect.sleep(Duration.millis(50 + 150 * round))
        run.child.kill("SIGKILL")
        assert.strictEqual((yield* exitOf(run)).signal, "SIGKILL")
      }

      appendLive(200)
      const expected = Array.from({ length: standIn.stream.log.length }, (_, index) => {
        const id = standIn.stream.log.at(index).id
        return `${id.ms}-${id.seq}`
      })
      const last = yield* connectorProcess("stream-export", env)
      yield* waitUntil("every event exported", exportedObjects(s3), (objects) => {
        const ids = new Set(objects.flatMap(idsOf))
        return expected.every((id) => ids.has(id))
      }, 60)
      last.child.kill("SIGTERM")
      assert.strictEqual((yield* exitOf(last)).code, 0)

      const objects = yield* exportedObjects(s3)
      assert.deepStrictEqual(objects.map((object) => object.fileNumber), Array.from({ length: objects.length }, (_, index) => index + 1), "object numbers are 1..n, each once")
      assert.strictEqual(connectorState(standIn, CONNECTOR_ID).file_count, objects.length)
      const union = new Set(objects.flatMap(idsOf))
      assert.deepStrictEqual(expected.filter((id) => !union.has(id)), [], "no event is missing")
      // Stream order holds within each object, and across objects once the events a restart repeats are set aside.
      const position = new Map(expected.map((id, index) => [id, index]))
      const increasing = (ids: ReadonlyArray<string>) => ids.every((id, index) => index === 0 || (position.get(id) ?? -1) > (position.get(ids[index - 1] ?? "") ?? -1))
      assert.isTrue(objects.every((object) => increasing(idsOf(object))))
      assert.isTrue(increasing([...new Set(objects.flatMap(idsOf))]))
    }), { timeout: 180_000 })

  it.live("SIGTERM: writes the batch it holds, commits it, and exits 0", () =>
    Effect.gen(function*() {
      const s3 = yield* s3ServerScoped()
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { heartbeatIntervalMs: 300 } })
      const metricsPort = yield* Effect.promise(() => freePort())
      const run = yield* connectorProcess("stream-export", processEnv(standIn, s3, { WRITE_EVERY_SEC: "3600", CONNECTOR_EXPOSE_METRICS: "true", CONNECTOR_METRICS_PORT: String(metricsPort) }))
      yield* waitUntil("the exporter reading the stream", Effect.sync(() => standIn.stream.connections.length), (count) => count === 1)
      standIn.stream.append(...Array.from({ length: 25 }, (_, index) => platformEvent("create", malware(index))))
      // The exporter holds all 25 events, in a window of an hour: nothing is written before the stop.
      yield* waitUntil("25 events processed", processedEvents(metricsPort), (processed) => processed === 25)
      assert.deepStrictEqual(yield* exportedObjects(s3), [])

      run.child.kill("SIGTERM")
      const exit = yield* exitOf(run)
      assert.deepStrictEqual([exit.code, exit.signal], [0, null], run.stderr())
      const objects = yield* exportedObjects(s3)
      assert.deepStrictEqual(objects.map((object) => [object.fileNumber, object.lines.length]), [[1, 25]])
      const lastId = objects[0]?.lines.at(-1)?.id
      assert.deepStrictEqual([connectorState(standIn, CONNECTOR_ID).file_count, connectorState(standIn, CONNECTOR_ID).last_written_msg_id], [1, lastId])
      assert.isTrue(run.logs().some((line) => line.message === "Events held at stop written"))
    }), { timeout: 60_000 })
})
