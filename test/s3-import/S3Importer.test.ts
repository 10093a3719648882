import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, Option } from "effect"
import type { Duration } from "effect"
import { TestClock } from "effect/testing"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import * as ApiBundleSender from "../../src/s3-import/ApiBundleSender.js"
import { inInputPhase } from "../../src/s3-import/ImportError.js"
import { S3ImportConfig } from "../../src/s3-import/S3ImportConfig.js"
import { S3Importer } from "../../src/s3-import/S3Importer.js"
import * as Transforms from "../../src/s3-import/Transforms.js"
import { StateStore } from "../../src/state/StateStore.js"
import type { MemoryBuckets, StoredObject } from "../../src/storage/ObjectStorage.js"
import { ObjectStorage } from "../../src/storage/ObjectStorage.js"
import { watchingClock } from "../support/ClockWatch.js"
import { makePlatformStub } from "../support/PlatformStub.js"
import type { PlatformStub } from "../support/PlatformStub.js"

const encoder = new TextEncoder()
const bundle = (id: string, objects = 1) =>
  JSON.stringify({
    type: "bundle",
    id: `bundle--${id}`,
    objects: Array.from({ length: objects }, (_, index) => ({
      type: "malware",
      spec_version: "2.1",
      id: `malware--0000000${index}-0000-4000-8000-${id.padStart(12, "0")}`,
      name: `Malware ${id} ${index}`,
      is_family: true,
      created: "2024-01-01T00:00:00.000Z",
      modified: "2024-01-02T00:00:00.000Z"
    }))
  })

const baseEnv = {
  OPENCTI_URL: "http://opencti.test",
  OPENCTI_TOKEN: "token",
  CONNECTOR_ID: "5b5d1e7a-6c3f-4f0e-9c67-7a1d8a2d2f10",
  CONNECTOR_QUEUE_PROTOCOL: "api",
  S3_BUCKET_NAME: "feed",
  S3_BUCKET_PREFIXES: "ACI_TI,ACI_Vuln",
  S3_TRANSFORM: "none",
  S3_INTERVAL: "60"
}

interface World {
  readonly buckets: MemoryBuckets
  readonly openCti: PlatformStub
  readonly put: (key: string, body: string, lastModified?: number) => void
  readonly keys: () => Array<string>
  readonly text: (key: string) => string
  /** The keys read, in the order their reads started. */
  readonly fetched: Array<string>
  readonly layer: Layer.Layer<S3Importer | StateStore, unknown>
}

/** Deletes that take `delay` on the test clock, so that a delete can be in flight when a test stops the import. */
const slowDeletes = (delay: Duration.Input) =>
  Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) =>
    ObjectStorage.of({ ...inner, deleteVersion: (bucket, key, version) => Effect.andThen(Effect.sleep(delay), inner.deleteVersion(bucket, key, version)) })))

/** Writes that take `delay` on the test clock, so that quarantined files are held while they are written. */
const slowPuts = (delay: Duration.Input) =>
  Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) =>
    ObjectStorage.of({ ...inner, put: (bucket, key, body, contentType) => Effect.andThen(Effect.sleep(delay), inner.put(bucket, key, body, contentType)) })))

/** Records the key of every read in `fetched`. */
const recordedFetches = (fetched: Array<string>) =>
  Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) =>
    ObjectStorage.of({ ...inner, fetch: (bucket, key, maxBytes) => Effect.andThen(Effect.sync(() => fetched.push(key)), inner.fetch(bucket, key, maxBytes)) })))

const makeWorld = (env: Record<string, string> = {}, options: { readonly deleteDelay?: Duration.Input; readonly putDelay?: Duration.Input } = {}): World => {
  const objects = new Map<string, StoredObject>()
  const buckets: MemoryBuckets = new Map([["feed", objects]])
  const fetched: Array<string> = []
  const stored = ObjectStorage.layerMemory(buckets, { pageSize: 7 })
  const memory = options.putDelay === undefined ? stored : slowPuts(options.putDelay).pipe(Layer.provide(stored))
  const openCti = makePlatformStub()
  const config = Layer.mergeAll(OpenCtiConfig.layer({ type: "EXTERNAL_IMPORT", name: "S3", scope: [] }), S3ImportConfig.layer).pipe(
    Layer.provide(layerRecord({ ...baseEnv, ...env }))
  )
  const state = StateStore.layerMemory()
  const importer = S3Importer.layer.pipe(
    Layer.provide([
      recordedFetches(fetched).pipe(Layer.provide(options.deleteDelay === undefined ? memory : slowDeletes(options.deleteDelay).pipe(Layer.provide(memory)))),
      Transforms.layer,
      ApiBundleSender.layer
    ]),
    Layer.provide(openCti.layer),
    Layer.provideMerge(state),
    Layer.provide(config)
  )
  return {
    buckets,
    openCti,
    put: (key, body, lastModified = 1_700_000_000_000) => objects.set(key, { body: encoder.encode(body), lastModified, contentType: "application/json" }),
    keys: () => [...objects.keys()].sort(),
    text: (key) => new TextDecoder().decode(objects.get(key)?.body),
    fetched,
    layer: importer
  }
}

const pushedBundleIds = (world: World) =>
  world.openCti.calls.flatMap((call) => (call.op === "pushBundle" ? [JSON.parse(call.bundle).id as string] : []))

/**
 * Runs a cycle, interrupts it (a shutdown) after `after` on the test clock, and lets it drain: the clock
 * moves a second whenever the importer waits for it, for 10 s at most.
 */
const interruptedAfter = (after: Duration.Input) =>
  watchingClock((clock) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* S3Importer).cycle)
      yield* clock.sleeping()
      yield* TestClock.adjust(after)
      const stopping = yield* Effect.forkChild(Fiber.interrupt(fiber))
      const draining = Effect.repeat(Effect.andThen(clock.sleeping(), TestClock.adjust("1 second")), { times: 9 })
      yield* Effect.raceFirst(Fiber.join(stopping), Effect.andThen(draining, Fiber.join(stopping)))
    }))

const readConfig = (env: Record<string, string>) =>
  Effect.provide(S3ImportConfig, S3ImportConfig.layer.pipe(Layer.provide(layerRecord({ ...baseEnv, ...env }))))

const ops = (world: World) => world.openCti.calls.map((call) => call.op)

/** The state enum and the cycle counters of the metric registry in context. */
const helperMetrics = Effect.map(Metric.snapshot, (metrics) => {
  const value = (id: string, state?: string) => {
    const metric = metrics.find((metric) => metric.id === id && metric.attributes?.["state"] === state)
    return metric?.type === "Gauge" ? Number(metric.state.value) : metric?.type === "Counter" ? Number(metric.state.count) : undefined
  }
  return {
    state: ["idle", "running", "stopped"].filter((state) => value("state", state) === 1),
    runs: value("runs_total"),
    errors: value("errors_total")
  }
})

describe("S3Importer", () => {
  it.effect("imports every file of every prefix in key order, deletes it, and closes one work per prefix", () => {
    const world = makeWorld()
    for (let index = 0; index < 20; index++) world.put(`ACI_TI/${String(index).padStart(3, "0")}.json`, bundle(`ti${index}`))
    world.put("ACI_TI/folder/", "")
    world.put("ACI_Vuln/a.json", bundle("v1"))
    world.put("OTHER/untouched.json", bundle("o1"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(world.keys(), ["ACI_TI/folder/", "OTHER/untouched.json"])
      assert.deepStrictEqual(pushedBundleIds(world), [...Array.from({ length: 20 }, (_, index) => `bundle--ti${index}`), "bundle--v1"])
      const works = world.openCti.calls.filter((call) => call.op === "workAdd")
      assert.deepStrictEqual(works.map((call) => call.name.split(" run @ ")[0]), ["S3/ACI_TI", "S3/ACI_Vuln"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => [call.workId, call.inError, call.message]), [
        ["work-1", false, "Connector successfully processed S3 prefix 'ACI_TI': 20 file(s) ingested"],
        ["work-2", false, "Connector successfully processed S3 prefix 'ACI_Vuln': 1 file(s) ingested"]
      ])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("applies the default marking and author organization of the none profile", () => {
    const world = makeWorld({ S3_AUTHOR: "ACME", S3_MARKING: "tlp:amber+strict", S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/a.json", bundle("a"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      const pushed = world.openCti.calls.find((call) => call.op === "pushBundle")
      assert.isDefined(pushed)
      const object = JSON.parse(pushed?.op === "pushBundle" ? pushed.bundle : "{}").objects[0]
      assert.deepStrictEqual(object.object_marking_refs, ["marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"])
      assert.strictEqual(object.created_by_ref, "identity--00000000-0000-5000-8000-000000000000")
      assert.strictEqual(object.x_opencti_modified_at, "2024-01-02T00:00:00.000Z")
      assert.deepStrictEqual(ops(world).slice(0, 1), ["createOrganization"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("stops at an invalid file: earlier files deleted, it and later ones kept, the work closed in error", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/1.json", bundle("1"))
    world.put("ACI_TI/2.json", "{\"type\": \"bundle\", \"objects\": [")
    world.put("ACI_TI/3.json", bundle("3"))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* S3Importer).cycle)
      assert.strictEqual(error.phase, "parse")
      assert.strictEqual(error.key, "ACI_TI/2.json")
      assert.include(error.message, "s3://feed/ACI_TI/2.json")
      assert.deepStrictEqual(world.keys(), ["ACI_TI/2.json", "ACI_TI/3.json"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.strictEqual(closed.length, 1)
      assert.isTrue(closed[0]?.op === "workToProcessed" && closed[0].inError)
      assert.include(closed[0]?.op === "workToProcessed" ? closed[0].message : "", "ACI_TI/2.json")
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("refuses JSON that is not a bundle (D4) and keeps the file", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/array.json", "[]")
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* S3Importer).cycle)
      assert.strictEqual(error.phase, "parse")
      assert.deepStrictEqual(world.keys(), ["ACI_TI/array.json"])
      assert.deepStrictEqual(ops(world), [])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("keeps the file when the push fails", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.openCti.failPushNumber = 2
    world.put("ACI_TI/1.json", bundle("1"))
    world.put("ACI_TI/2.json", bundle("2"))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* S3Importer).cycle)
      assert.strictEqual(error.phase, "send")
      assert.strictEqual(error.key, "ACI_TI/2.json")
      assert.include(error.message, "Invalid bundle")
      assert.deepStrictEqual(world.keys(), ["ACI_TI/2.json"])
      assert.deepStrictEqual(ops(world), ["workAdd", "pushBundle", "workToProcessed"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("deletes a bundle with no objects without sending anything or opening a work", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/empty.json", "{\"type\": \"bundle\", \"id\": \"bundle--e\", \"objects\": []}")
    world.put("ACI_TI/null.json", "{\"type\": \"bundle\", \"id\": \"bundle--n\", \"objects\": null}")
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(world.keys(), [])
      assert.deepStrictEqual(ops(world), [])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("with delete off, keeps files and does not send them again on the next cycle", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_DELETE_AFTER_IMPORT: "false" })
    world.put("ACI_TI/b.json", bundle("b"), 2_000)
    world.put("ACI_TI/a.json", bundle("a"), 3_000)
    return Effect.gen(function*() {
      const importer = yield* S3Importer
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--b", "bundle--a"])
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--b", "bundle--a"])
      // A file uploaded in the same second as the mark, with a lower key, is still new.
      world.put("ACI_TI/0.json", bundle("0"), 3_000)
      world.put("ACI_TI/c.json", bundle("c"), 4_000)
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--b", "bundle--a", "bundle--0", "bundle--c"])
      assert.deepStrictEqual(world.keys(), ["ACI_TI/0.json", "ACI_TI/a.json", "ACI_TI/b.json", "ACI_TI/c.json"])
      const state = yield* (yield* StateStore).get
      assert.deepStrictEqual(Option.getOrNull(state), { s3_import_marks: { "feed/ACI_TI": { lastModified: 4_000, keys: ["ACI_TI/c.json"] } } })
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("with delete off, a failed file is retried on the next cycle even if an earlier one is newer", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_DELETE_AFTER_IMPORT: "false" })
    world.openCti.failPushNumber = 2
    world.put("ACI_TI/a.json", bundle("a"), 5_000)
    world.put("ACI_TI/b.json", bundle("b"), 1_000)
    return Effect.gen(function*() {
      const importer = yield* S3Importer
      const error = yield* Effect.flip(importer.cycle)
      assert.strictEqual(error.key, "ACI_TI/a.json")
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--b", "bundle--a"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("repeats every S3_INTERVAL and stops at the first failing cycle", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/1.json", bundle("1"))
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild((yield* S3Importer).run)
        // A cycle done, the importer waits for the interval.
        yield* clock.sleeping()
        assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1"])
        world.put("ACI_TI/2.json", bundle("2"))
        yield* TestClock.adjust("59 seconds")
        assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1"])
        yield* TestClock.adjust("1 second")
        yield* clock.sleeping()
        assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1", "bundle--2"])
        world.put("ACI_TI/3.json", "not json")
        yield* TestClock.adjust("60 seconds")
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(exit._tag === "Failure")
        assert.deepStrictEqual(world.keys(), ["ACI_TI/3.json"])
      }).pipe(Effect.provide(world.layer)))
  })

  it.effect("on a shutdown mid-prefix, deletes every file it sent, sends no more, and closes the work as processed", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI,ACI_Vuln" }, { deleteDelay: "1500 millis" })
    world.openCti.pushDelay = "1 second"
    for (let index = 0; index < 10; index++) world.put(`ACI_TI/${index}.json`, bundle(`${index}`))
    world.put("ACI_Vuln/1.json", bundle("v1"))
    return Effect.gen(function*() {
      yield* interruptedAfter("2500 millis")
      const sent = pushedBundleIds(world).map((id) => `ACI_TI/${id.slice("bundle--".length)}.json`)
      assert.isAtLeast(sent.length, 2)
      assert.isBelow(sent.length, 10)
      assert.deepStrictEqual(world.keys(), [...Array.from({ length: 10 }, (_, index) => `ACI_TI/${index}.json`).filter((key) => !sent.includes(key)), "ACI_Vuln/1.json"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => [call.inError, call.message]), [
        [false, `S3 prefix 'ACI_TI' stopped by a shutdown after ${sent.length} file(s) ingested`]
      ])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("on a shutdown, a send that fails while the fetched files drain closes the work in error and keeps the file", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.openCti.pushDelay = "1 second"
    world.openCti.failPushNumber = 3
    for (let index = 0; index < 10; index++) world.put(`ACI_TI/${index}.json`, bundle(`${index}`))
    return Effect.gen(function*() {
      yield* interruptedAfter("1500 millis")
      assert.deepStrictEqual(world.keys().slice(0, 1), ["ACI_TI/2.json"])
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => call.inError), [true])
      assert.include(closed[0]?.message, "S3 prefix 'ACI_TI' failed after 2 file(s) ingested")
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("treats each prefix as a folder: ACI_TI leaves ACI_TI_archive and ACI_TIxyz.json alone", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/a.json", bundle("a"))
    world.put("ACI_TI_archive/old.json", bundle("old"))
    world.put("ACI_TIxyz.json", bundle("xyz"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--a"])
      assert.deepStrictEqual(world.keys(), ["ACI_TI_archive/old.json", "ACI_TIxyz.json"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("reads the prefix / as the bucket root", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "/" })
    world.put("top.json", bundle("top"))
    world.put("deep/down.json", bundle("down"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--down", "bundle--top"])
      assert.deepStrictEqual(world.keys(), [])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("deletes only the version it sent: a file rewritten during its send stays, the others go", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.put("ACI_TI/1.json", bundle("1"))
    world.put("ACI_TI/2.json", bundle("2"))
    world.put("ACI_TI/3.json", bundle("3"))
    world.openCti.onPush = (sent) => {
      if (JSON.parse(sent).id === "bundle--2") world.put("ACI_TI/2.json", bundle("2-rewritten"))
    }
    return Effect.gen(function*() {
      const importer = yield* S3Importer
      yield* importer.cycle
      assert.deepStrictEqual(world.keys(), ["ACI_TI/2.json"])
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1", "bundle--2", "bundle--3", "bundle--2-rewritten"])
      assert.deepStrictEqual(world.keys(), [])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("on a versioned bucket, deletes the version it read by its id and leaves a newer one", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    const versioned = (key: string, body: string, versionId: string) =>
      world.buckets.get("feed")?.set(key, { body: encoder.encode(body), lastModified: 1_700_000_000_000, contentType: "application/json", versionId })
    versioned("ACI_TI/1.json", bundle("1"), "v1")
    versioned("ACI_TI/2.json", bundle("2"), "v1")
    world.openCti.onPush = (sent) => {
      if (JSON.parse(sent).id === "bundle--2") versioned("ACI_TI/2.json", bundle("2"), "v2")
    }
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(world.keys(), ["ACI_TI/2.json"])
      assert.strictEqual(world.buckets.get("feed")?.get("ACI_TI/2.json")?.versionId, "v2")
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("refuses a file over S3_MAX_FILE_BYTES before reading it, naming its size and the limit", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_MAX_FILE_BYTES: "1000" })
    const big = bundle("big", 10)
    world.put("ACI_TI/1.json", bundle("1"))
    world.put("ACI_TI/2.json", big)
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* S3Importer).cycle)
      assert.strictEqual(error.phase, "fetch")
      assert.strictEqual(error.key, "ACI_TI/2.json")
      assert.include(error.message, `the file is ${encoder.encode(big).byteLength} bytes, over the limit of 1000 bytes (S3_MAX_FILE_BYTES)`)
      assert.deepStrictEqual(world.keys(), ["ACI_TI/2.json"])
      assert.deepStrictEqual(world.fetched, ["ACI_TI/1.json"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("holds at most S3_FETCH_AHEAD_BYTES of fetched files ahead of the sends", () => {
    const size = encoder.encode(bundle("00")).byteLength
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_FETCH_AHEAD_BYTES: String(2 * size) })
    world.openCti.pushDelay = "1 second"
    for (let index = 10; index < 30; index++) world.put(`ACI_TI/${index}.json`, bundle(`${index}`))
    let mostAhead = 0
    world.openCti.onPush = () => {
      mostAhead = Math.max(mostAhead, world.fetched.length - pushedBundleIds(world).length + 1)
    }
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild((yield* S3Importer).cycle)
        // Each of the 20 sends waits one second on the clock: measure while it waits, then let it go on.
        for (let send = 0; send < 20; send++) {
          yield* clock.sleeping()
          mostAhead = Math.max(mostAhead, world.fetched.length - pushedBundleIds(world).length)
          yield* TestClock.adjust("1 second")
        }
        yield* Fiber.join(fiber)
        assert.strictEqual(pushedBundleIds(world).length, 20)
        assert.strictEqual(mostAhead, 2)
      }).pipe(Effect.provide(world.layer)))
  })

  it.effect("holds a refused file within S3_FETCH_AHEAD_BYTES until it is in the quarantine", () => {
    const broken = (index: number) => `{"type": "bundle", "id": "bundle--${index}", "objects": [`
    const size = encoder.encode(broken(10)).byteLength
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_QUARANTINE_PREFIX: "quarantine", S3_FETCH_AHEAD_BYTES: String(2 * size) }, { putDelay: "1 second" })
    for (let index = 10; index < 20; index++) world.put(`ACI_TI/${index}.json`, broken(index))
    const left = () => world.keys().filter((key) => key.startsWith("ACI_TI/")).length
    let mostHeld = 0
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild((yield* S3Importer).cycle)
        // Each quarantine write waits one second on the clock: a file is held from its read to its delete.
        while (left() > 0) {
          yield* clock.sleeping()
          mostHeld = Math.max(mostHeld, world.fetched.length - (10 - left()))
          yield* TestClock.adjust("1 second")
        }
        yield* Fiber.join(fiber)
        assert.strictEqual(world.keys().length, 20)
        assert.strictEqual(mostHeld, 2)
      }).pipe(Effect.provide(world.layer)))
  })

  it.effect("fetches a file larger than S3_FETCH_AHEAD_BYTES alone, once the files before it are sent", () => {
    const size = encoder.encode(bundle("00")).byteLength
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_FETCH_AHEAD_BYTES: String(2 * size) })
    world.openCti.pushDelay = "1 second"
    for (let index = 10; index < 20; index++) world.put(`ACI_TI/${index}.json`, bundle(`${index}`, index === 13 ? 4 : 1))
    const large = "ACI_TI/13.json"
    let mostHeldWithLarge = 0
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild((yield* S3Importer).cycle)
        for (let send = 0; send < 10; send++) {
          yield* clock.sleeping()
          if (world.fetched.includes(large) && !pushedBundleIds(world).includes("bundle--13")) {
            mostHeldWithLarge = Math.max(mostHeldWithLarge, world.fetched.length - pushedBundleIds(world).length)
          }
          yield* TestClock.adjust("1 second")
        }
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(pushedBundleIds(world), Array.from({ length: 10 }, (_, index) => `bundle--${index + 10}`))
        assert.strictEqual(mostHeldWithLarge, 1)
        assert.deepStrictEqual(world.keys(), [])
      }).pipe(Effect.provide(world.layer)))
  })

  it.effect("with S3_QUARANTINE_PREFIX, moves a file that fails to parse or transform there with its report, and goes on", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_QUARANTINE_PREFIX: "quarantine" })
    world.put("ACI_TI/1.json", bundle("1"))
    world.put("ACI_TI/2.json", "{\"type\": \"bundle\", \"objects\": [")
    world.put("ACI_TI/3.json", bundle("3"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1", "bundle--3"])
      assert.deepStrictEqual(world.keys(), ["quarantine/ACI_TI/2.json", "quarantine/ACI_TI/2.json.error.json"])
      assert.strictEqual(world.text("quarantine/ACI_TI/2.json"), "{\"type\": \"bundle\", \"objects\": [")
      const report = JSON.parse(world.text("quarantine/ACI_TI/2.json.error.json"))
      assert.deepInclude(report, { phase: "parse", connector_id: baseEnv.CONNECTOR_ID, bucket: "feed", key: "ACI_TI/2.json" })
      assert.include(report.reason, "s3://feed/ACI_TI/2.json")
      assert.match(report.time, /^\d{4}-\d\d-\d\dT/)
      const closed = world.openCti.calls.filter((call) => call.op === "workToProcessed")
      assert.deepStrictEqual(closed.map((call) => call.op === "workToProcessed" && call.message), ["Connector successfully processed S3 prefix 'ACI_TI': 2 file(s) ingested"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("with delete off, copies a file that fails to parse to the quarantine and moves the mark past it", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_QUARANTINE_PREFIX: "quarantine", S3_DELETE_AFTER_IMPORT: "false" })
    world.put("ACI_TI/1.json", "not json", 1_000)
    world.put("ACI_TI/2.json", bundle("2"), 2_000)
    return Effect.gen(function*() {
      const importer = yield* S3Importer
      yield* importer.cycle
      yield* importer.cycle
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--2"])
      assert.deepStrictEqual(world.keys(), ["ACI_TI/1.json", "ACI_TI/2.json", "quarantine/ACI_TI/1.json", "quarantine/ACI_TI/1.json.error.json"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("never quarantines a failed send: the cycle stops and the file stays", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_QUARANTINE_PREFIX: "quarantine/" })
    world.openCti.failPushNumber = 1
    world.put("ACI_TI/1.json", bundle("1"))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* S3Importer).cycle)
      assert.strictEqual(error.phase, "send")
      assert.deepStrictEqual(world.keys(), ["ACI_TI/1.json"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("refuses an S3_MAX_FILE_BYTES whose base64 copy would not fit in a string", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(readConfig({ S3_MAX_FILE_BYTES: "400000001" }))
      assert.strictEqual(error.message, "S3_MAX_FILE_BYTES=\"400000001\" is invalid: expected an integer from 1 to 400000000")
    }))

  it.effect("refuses an S3_FETCH_AHEAD_BYTES that is not a positive integer, naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(readConfig({ S3_FETCH_AHEAD_BYTES: "0" }))
      assert.strictEqual(error.message, "S3_FETCH_AHEAD_BYTES=\"0\" is invalid: expected an integer >= 1")
    }))

  it.effect("refuses a quarantine folder that overlaps an import folder, naming the variable", () =>
    Effect.gen(function*() {
      for (const [prefixes, quarantine] of [["ACI_TI", "ACI_TI/bad"], ["ACI_TI,/", "quarantine"], ["ACI_TI/2026", "ACI_TI"]]) {
        const error = yield* Effect.flip(readConfig({ S3_BUCKET_PREFIXES: prefixes!, S3_QUARANTINE_PREFIX: quarantine! }))
        assert.strictEqual(error.variable, "S3_QUARANTINE_PREFIX")
      }
    }))

  it.effect.each(["none", "aci"])("sends numbers with their exact text through the %s profile", (profile) => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", S3_TRANSFORM: profile })
    const numbers = "\"x_big\":12345678901234567890,\"x_huge\":1e400,\"x_negative_zero\":-0,\"x_float\":1.0"
    world.put("ACI_TI/1.json", bundle("1").replace("\"is_family\":true", `"is_family":true,${numbers}`))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).cycle
      const pushed = world.openCti.calls.find((call) => call.op === "pushBundle")
      assert.include(pushed?.op === "pushBundle" ? pushed.bundle : "", numbers)
      assert.deepStrictEqual(world.keys(), [])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("turns an exception thrown on hostile input into a failure of its phase, naming the key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.die(new RangeError("Invalid string length")).pipe(inInputPhase("transform", { bucket: "feed", prefix: "ACI_TI", key: "ACI_TI/1.json" })))
      assert.deepInclude(error, { phase: "transform", key: "ACI_TI/1.json" })
      assert.strictEqual(error.message, "transform failed for s3://feed/ACI_TI/1.json: Invalid string length")
    }))

  it.effect("runs a single pass with CONNECTOR_RUN_AND_TERMINATE", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI", CONNECTOR_RUN_AND_TERMINATE: "yes" })
    world.put("ACI_TI/1.json", bundle("1"))
    return Effect.gen(function*() {
      yield* (yield* S3Importer).run
      assert.deepStrictEqual(pushedBundleIds(world), ["bundle--1"])
    }).pipe(Effect.provide(world.layer))
  })

  it.effect("is running during a cycle and idle after it, in pycti's state enum, and counts its cycles and failed ones", () => {
    const world = makeWorld({ S3_BUCKET_PREFIXES: "ACI_TI" })
    world.openCti.pushDelay = "1 second"
    world.openCti.failPushNumber = 2
    world.put("ACI_TI/1.json", bundle("1"))
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const importer = yield* S3Importer
        const fiber = yield* Effect.forkChild(importer.cycle)
        // The first push waits on the clock: the cycle is under way.
        yield* clock.sleeping()
        assert.deepStrictEqual(yield* helperMetrics, { state: ["running"], runs: 1, errors: undefined })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(yield* helperMetrics, { state: ["idle"], runs: 1, errors: undefined })

        world.put("ACI_TI/2.json", bundle("2"))
        const failing = yield* Effect.forkChild(importer.cycle)
        yield* clock.sleeping()
        yield* TestClock.adjust("1 second")
        yield* Fiber.await(failing)
        assert.deepStrictEqual(yield* helperMetrics, { state: ["idle"], runs: 2, errors: 1 })
      }).pipe(Effect.provide(world.layer), Effect.provideService(Metric.MetricRegistry, new Map())))
  })
})
