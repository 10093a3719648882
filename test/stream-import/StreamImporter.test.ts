import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option } from "effect"
import { AmqpError, AmqpPublisher } from "../../src/amqp/AmqpPublisher.js"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { Connector } from "../../src/connector/Connector.js"
import { StateStore } from "../../src/state/StateStore.js"
import type { ConnectorState } from "../../src/state/StateStore.js"
import { ObjectStorage } from "../../src/storage/ObjectStorage.js"
import type { MemoryBuckets, StoredObject } from "../../src/storage/ObjectStorage.js"
import * as StreamImportApp from "../../src/stream-import/StreamImportApp.js"
import { StreamImporter } from "../../src/stream-import/StreamImporter.js"
import { makePlatformStub } from "../support/PlatformStub.js"

const encoder = new TextEncoder()

const env = {
  OPENCTI_URL: "http://opencti.test",
  OPENCTI_TOKEN: "token",
  CONNECTOR_ID: "5b5d1e7a-6c3f-4f0e-9c67-7a1d8a2d2f10",
  MINIO_ENDPOINT: "minio",
  MINIO_SRC_PATH: "export/opencti-stream",
  MINIO_DST_PATH: "done",
  IMPORT_CONFIRM_WINDOW: "2"
}

interface Published {
  readonly exchange: string
  readonly routingKey: string
  readonly body: Record<string, unknown>
}

/** The broker's side: what was confirmed, and a publish that fails (as a broker gone away) once. */
const makeBroker = () => {
  const confirmed: Array<Published> = []
  const windows: Array<number> = []
  let failAtCall: number | undefined
  let calls = 0
  const layer = Layer.succeed(AmqpPublisher, AmqpPublisher.of({
    publish: () => Effect.die("unused"),
    publishAll: (exchange, routingKey, bodies) =>
      Effect.suspend(() => {
        calls += 1
        if (calls === failAtCall) return Effect.fail(new AmqpError({ operation: "connection", message: "the connection closed" }))
        windows.push(bodies.length)
        for (const body of bodies) confirmed.push({ exchange, routingKey, body: JSON.parse(new TextDecoder().decode(body)) })
        return Effect.void
      })
  }))
  return { confirmed, windows, layer, failAt: (call: number) => void (failAtCall = calls + call) }
}

/** Whole-object reads fail: the importer must stream what it reads. */
const streamedReadsOnly = Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) =>
  ObjectStorage.of({ ...inner, get: (bucket, key) => Effect.die(`read whole: ${bucket}/${key}`) })))

const makeWorld = (initial: Option.Option<ConnectorState> = Option.none(), overrides: Record<string, string> = {}) => {
  const source = new Map<string, StoredObject>()
  const done = new Map<string, StoredObject>()
  const buckets: MemoryBuckets = new Map([["export", source], ["done", done]])
  const openCti = makePlatformStub()
  const broker = makeBroker()
  const state = StateStore.layerMemory(initial)
  const layer = StreamImporter.layer.pipe(
    Layer.provide([streamedReadsOnly.pipe(Layer.provide(ObjectStorage.layerMemory(buckets))), broker.layer, Connector.layer]),
    Layer.provide(openCti.layer),
    Layer.provideMerge(state),
    Layer.provide(StreamImportApp.ConfigLayer.pipe(Layer.provide(layerRecord({ ...env, ...overrides }))))
  )
  return {
    openCti,
    broker,
    layer,
    put: (key: string, lines: ReadonlyArray<string>) => source.set(key, { body: encoder.encode(lines.join("\n")), lastModified: 0, contentType: "application/x-ndjson" }),
    sourceKeys: () => [...source.keys()].sort(),
    doneKeys: () => [...done.keys()].sort()
  }
}

const event = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id, type: "create", data: { id: `malware--${id}` }, ...extra })

const contents = (published: ReadonlyArray<Published>) => published.map((message) => Buffer.from(String(message.body["content"]), "base64").toString("utf8"))

const cycle = Effect.flatMap(StreamImporter, (importer) => importer.cycle)
const savedState = Effect.flatMap(StateStore, (state) => state.get)

describe("StreamImporter", () => {
  it.effect("publishes every line of each object in number order, from file_count + 1, then saves the count and moves the object to done", () => {
    const world = makeWorld(Option.some({ file_count: 2, other: "kept" }))
    world.put("opencti-stream/stream_1700000000300_3.json", [event("3-0"), "", event("3-1", { previous_standard: "malware--before" })])
    world.put("opencti-stream/stream_1700000000400_4.json", [event("4-0"), ""])
    world.put("opencti-stream/nested/stream_1_9.json", [event("nested")])
    return Effect.gen(function*() {
      yield* cycle
      assert.deepStrictEqual(contents(world.broker.confirmed), [event("3-0"), event("3-1", { previous_standard: "malware--before" }), event("4-0")])
      const [first, second] = world.broker.confirmed
      assert.deepStrictEqual([first?.exchange, first?.routingKey], ["amqp.worker.exchange", "push_routing_test"])
      assert.deepStrictEqual(Object.keys(first?.body ?? {}), ["type", "synchronized", "update", "previous_standard", "applicant_id", "content"])
      assert.deepStrictEqual({ ...first?.body, content: "" }, { type: "event", synchronized: false, update: true, previous_standard: null, applicant_id: "applicant", content: "" })
      assert.strictEqual(second?.body["previous_standard"], "malware--before")
      assert.deepStrictEqual(yield* savedState, Option.some({ other: "kept", file_count: 4 }))
      assert.deepStrictEqual(world.sourceKeys(), ["opencti-stream/nested/stream_1_9.json"])
      assert.deepStrictEqual(world.doneKeys(), ["opencti-stream/stream_1700000000300_3.json", "opencti-stream/stream_1700000000400_4.json"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => [call.message, call.inError]), [["Stream import processed: 2 object(s) imported, 3 event(s) sent", false]])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("a gap stops the import naming the number expected and the key found; nothing is published or moved", () => {
    const world = makeWorld(Option.some({ file_count: 1 }))
    world.put("opencti-stream/stream_1_2.json", [event("2-0")])
    world.put("opencti-stream/stream_1_4.json", [event("4-0")])
    return Effect.gen(function*() {
      const error = yield* Effect.flip(cycle)
      assert.strictEqual(error.phase, "order")
      assert.include(error.message, "expected object 3 next, found opencti-stream/stream_1_4.json (object 4): object 3 is missing")
      assert.deepStrictEqual([world.broker.confirmed.length, world.doneKeys().length], [0, 0])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("a line that is not a JSON object stops the import naming the key and the line; nothing of the object is published", () => {
    const world = makeWorld()
    world.put("opencti-stream/stream_1_1.json", [event("1-0"), event("1-1"), "", "[1, 2]", event("1-2")])
    return Effect.gen(function*() {
      const error = yield* Effect.flip(cycle)
      assert.deepStrictEqual([error.phase, error.key, error.line], ["validate", "opencti-stream/stream_1_1.json", 4])
      assert.include(error.message, "line 4: it is JSON but not an object (an array)")
      assert.deepStrictEqual([world.broker.confirmed.length, world.doneKeys().length, world.sourceKeys().length], [0, 0, 1])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => call.inError), [true])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("a publish failing mid-object keeps the last confirmed line in the state; the next cycle resumes after it", () => {
    const world = makeWorld()
    const lines = Array.from({ length: 7 }, (_, index) => event(`1-${index}`))
    world.put("opencti-stream/stream_1_1.json", lines)
    return Effect.gen(function*() {
      world.broker.failAt(3)
      const error = yield* Effect.flip(cycle)
      assert.strictEqual(error.phase, "publish")
      assert.deepStrictEqual(yield* savedState, Option.some({ file_count: 0, in_progress: { file_number: 1, key: "opencti-stream/stream_1_1.json", confirmed_line: 4 } }))
      yield* cycle
      assert.deepStrictEqual(contents(world.broker.confirmed), lines)
      assert.deepStrictEqual(yield* savedState, Option.some({ file_count: 1 }))
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("a position saved for another object of the same number is not used: the object is imported from its first line", () => {
    const world = makeWorld(Option.some({ file_count: 0, in_progress: { file_number: 1, key: "opencti-stream/stream_1000_1.json", confirmed_line: 2 } }))
    world.put("opencti-stream/stream_2000_1.json", [event("1-0"), event("1-1"), event("1-2")])
    return Effect.gen(function*() {
      yield* cycle
      assert.deepStrictEqual(contents(world.broker.confirmed), [event("1-0"), event("1-1"), event("1-2")])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("an object already counted in file_count but still in the source is moved without being sent again", () => {
    const world = makeWorld(Option.some({ file_count: 1 }))
    world.put("opencti-stream/stream_1_1.json", [event("1-0")])
    world.put("opencti-stream/stream_2_2.json", [event("2-0")])
    return Effect.gen(function*() {
      yield* cycle
      assert.deepStrictEqual(contents(world.broker.confirmed), [event("2-0")])
      assert.deepStrictEqual(world.doneKeys(), ["opencti-stream/stream_1_1.json", "opencti-stream/stream_2_2.json"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.include(closed[0]?.message, "1 object(s) imported earlier moved to done")
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("reads a large object as a stream, twice, and publishes it a confirm window at a time; counts what it sent", () => {
    const world = makeWorld(Option.none(), { IMPORT_CONFIRM_WINDOW: "250", CONNECTOR_NAME: "metrics-test" })
    const lines = Array.from({ length: 3000 }, (_, index) => event(`1-${index}`, { padding: "x".repeat(500) }))
    world.put("opencti-stream/stream_1_1.json", lines)
    const sent = Effect.map(Metric.snapshot, (metrics) =>
      metrics.filter((metric) => metric.id === "sent_messages_total" && metric.attributes?.["name"] === "metrics-test").reduce((sum, metric) => sum + (metric.type === "Counter" ? Number(metric.state.count) : 0), 0))
    return Effect.gen(function*() {
      yield* cycle
      assert.strictEqual(world.broker.confirmed.length, 3000)
      assert.deepStrictEqual([Math.max(...world.broker.windows), world.broker.windows.length], [250, 12])
      assert.strictEqual(yield* sent, 3000)
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("an idle cycle creates no work", () => {
    const world = makeWorld()
    return Effect.gen(function*() {
      yield* cycle
      assert.deepStrictEqual(world.openCti.calls.filter((call) => call.op === "workAdd"), [])
    }).pipe(Effect.provide(world.layer))
  })
})
