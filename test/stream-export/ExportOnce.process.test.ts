import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { seededRandom } from "../stream-import/roundTrip.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { connectorProcess } from "../support/ConnectorProcess.js"
import { OPENCTI_EXTENSION, platformEvent } from "../support/opencti/streamEvents.js"
import { s3ServerScoped } from "../support/S3Server.js"
import { waitUntil } from "../support/waiting.js"
import { connectorState, exportedObjects, exporterEnv } from "./exporting.js"
import type { ExportedObject } from "./exporting.js"
import { objectMoverScoped } from "./objectMover.js"
import type { MovedObject } from "./objectMover.js"

// These tests run the built CLI (`node dist/main.js stream-export`): `npm test` builds it first.

const TOKEN = "once-token"
const CONNECTOR_ID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

const recoverMs = 1_700_000_000_000
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")
const malwareId = (n: number) => `malware--00000000-0000-4000-8000-${String(n).padStart(12, "0")}`

/**
 * The platform's knowledge and stream, in groups sharing one id: recovery snapshots of objects updated
 * in the same millisecond (`<updated_at ms>-0`), and live events with their dependencies.
 */
const makeSource = (random: () => number) => {
  let object = 0
  let ms = recoverMs - 10_000
  const snapshot = Array.from({ length: 60 }, () => {
    ms += 1 + Math.floor(random() * 3)
    return Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
      id: malwareId(++object),
      type: "malware",
      name: `m${object}`,
      extensions: { [OPENCTI_EXTENSION]: { type: "Malware", updated_at: new Date(ms).toISOString() } }
    }))
  }).flat()
  ms = recoverMs
  /** About `count` live events, in groups of one to eight sharing an id. */
  const liveGroups = (count: number) => {
    const events = []
    while (events.length < count) {
      ms += 1 + Math.floor(random() * 3)
      const id = `${ms}-0`
      for (let member = 1 + Math.floor(random() * 8); member > 0; member--) {
        events.push(platformEvent("create", { id: malwareId(++object), type: "malware", name: `m${object}` }, { id }))
      }
    }
    return events
  }
  return { snapshot, liveGroups }
}

/** An event as the importer tells it from the others: its id and its object. */
const eventKey = (id: string, object: string) => `${id} ${object}`

const expectedEvents = (standIn: OpenCtiStandIn, snapshot: ReadonlyArray<{ readonly id: string; readonly extensions: Record<string, { readonly updated_at: string }> }>) => [
  ...snapshot.map((stix) => eventKey(`${Date.parse(stix.extensions[OPENCTI_EXTENSION]?.updated_at ?? "")}-0`, stix.id)),
  ...Array.from({ length: standIn.stream.log.length }, (_, index) => {
    const event = standIn.stream.log.at(index)
    return eventKey(`${event.id.ms}-${event.id.seq}`, JSON.parse(event.data).data.id)
  })
]

const textEvents = (text: string) =>
  text.split("\n").filter((line) => line !== "").map((line) => {
    const parsed = JSON.parse(line)
    return eventKey(parsed.id, parsed.data.id)
  })

const objectEvents = (object: ExportedObject) => object.lines.map((line) => eventKey(line.id, (line.data as { readonly id?: string }).id ?? ""))

/**
 * Every copy of every object number (those moved away and those still in the folder): each number
 * once or, written again after it was moved, with the same events; the numbers 1..n without a gap;
 * each event of the source in exactly one number.
 */
const checkExactlyOnce = (copies: ReadonlyArray<{ readonly fileNumber: number; readonly events: ReadonlyArray<string> }>, expected: ReadonlyArray<string>) => {
  const byNumber = new Map<number, ReadonlyArray<string>>()
  for (const copy of copies) {
    const first = byNumber.get(copy.fileNumber)
    if (first === undefined) byNumber.set(copy.fileNumber, copy.events)
    else assert.deepStrictEqual([...copy.events].sort(), [...first].sort(), `object ${copy.fileNumber} written again with other events`)
  }
  const numbers = [...byNumber.keys()].sort((a, b) => a - b)
  assert.deepStrictEqual(numbers, numbers.map((_, index) => index + 1), "object numbers are 1..n")
  const written = numbers.flatMap((fileNumber) => byNumber.get(fileNumber) ?? [])
  const counts = new Map<string, number>()
  for (const event of written) counts.set(event, (counts.get(event) ?? 0) + 1)
  assert.deepStrictEqual([...counts].filter(([, count]) => count > 1), [], "events written twice")
  assert.deepStrictEqual(expected.filter((event) => !counts.has(event)), [], "events lost")
  assert.strictEqual(written.length, expected.length)
  return numbers.length
}

const sweep = (options: { readonly seed: number; readonly rounds: number; readonly withMover: boolean }) =>
  Effect.gen(function*() {
    const random = seededRandom(options.seed)
    const source = makeSource(random)
    const s3 = yield* s3ServerScoped()
    const standIn = yield* openCtiStandInScoped({ token: TOKEN, stream: { snapshot: source.snapshot, heartbeatIntervalMs: 200 } })
    const env = exporterEnv(standIn, s3, { token: TOKEN, id: CONNECTOR_ID }, {
      CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: isoSeconds(recoverMs),
      WRITE_EVERY_SEC: "1",
      WRITE_MAX_EVENTS: "13",
      CONNECTOR_LOG_LEVEL: "info"
    })
    let moved: ReadonlyArray<MovedObject> = []
    let kills = 0

    yield* Effect.scoped(Effect.gen(function*() {
      if (options.withMover) moved = (yield* objectMoverScoped(s3, { bucket: "export", folder: "opencti-stream/", pauseMs: 15 })).moved
      for (let round = 0; round < options.rounds; round++) {
        const connections = standIn.stream.connections.length
        yield* Effect.scoped(Effect.gen(function*() {
          const run = yield* connectorProcess("stream-export", env)
          // Killed while it works: once it reads the stream, events arrive, and a random moment later.
          yield* waitUntil("the exporter reading the stream", Effect.sync(() => standIn.stream.connections.length), (count) => count > connections || run.child.exitCode !== null)
          assert.isNull(run.child.exitCode, run.stderr())
          standIn.stream.append(...source.liveGroups(40 + Math.floor(random() * 160)))
          yield* Effect.sleep(Duration.millis(Math.floor(random() * 700)))
          run.child.kill("SIGKILL")
          const exit = yield* Effect.promise(() => run.exited)
          if (exit.signal === "SIGKILL") kills += 1
          else assert.fail(`the exporter stopped on its own before its kill: ${run.stderr()}`)
        }))
      }

      const expected = expectedEvents(standIn, source.snapshot)
      const connections = standIn.stream.connections.length
      const last = yield* connectorProcess("stream-export", env)
      // The killed runs may have written everything already: the last one is stopped only once it reads
      // the stream, not before it has set up its signal handling.
      yield* waitUntil("the exporter reading the stream", Effect.sync(() => standIn.stream.connections.length), (count) => count > connections || last.child.exitCode !== null)
      yield* waitUntil("the last event written", Effect.sync(() => connectorState(standIn, CONNECTOR_ID)), (state) => {
        const lastId = expected.at(-1)?.split(" ")[0]
        return state?.last_written_msg_id === lastId && state?.pending_object === undefined
      }, 60)
      last.child.kill("SIGTERM")
      assert.strictEqual((yield* Effect.promise(() => last.exited)).code, 0, last.stderr())
    }))

    // The mover is stopped and has taken what was left; the folder holds the rest.
    const remaining = yield* exportedObjects(s3)
    const movedCopies = moved.map((object) => ({ fileNumber: Number(/_(\d+)\.json$/.exec(object.key)?.[1]), events: textEvents(object.text) }))
    const objects = checkExactlyOnce(
      [...movedCopies, ...remaining.filter((object) => !Number.isNaN(object.fileNumber)).map((object) => ({ fileNumber: object.fileNumber, events: objectEvents(object) }))],
      expectedEvents(standIn, source.snapshot)
    )
    assert.strictEqual(connectorState(standIn, CONNECTOR_ID).file_count, objects)
    assert.strictEqual(kills, options.rounds)
    if (options.withMover) assert.isAbove(moved.length, 0)
  })

describe("stream-export process: every event written once", () => {
  it.live("SIGKILLed at random moments, groups cut by objects and by kills: 0 lost, 0 written twice, no number reused", () =>
    sweep({ seed: 20261203, rounds: 10, withMover: false }), { timeout: 180_000 })

  it.live("the same with objects moved out of the folder as soon as they are written", () =>
    sweep({ seed: 1_203_2026, rounds: 10, withMover: true }), { timeout: 180_000 })
})
