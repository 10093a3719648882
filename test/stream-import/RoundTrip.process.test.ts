import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connectorProcess } from "../support/ConnectorProcess.js"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { declarePushQueue } from "../support/RabbitMqQueues.js"
import { s3ServerScoped } from "../support/S3Server.js"
import { waitUntil } from "../support/waiting.js"
import {
  APPLICANT_ID,
  EXPORTER_ID,
  IMPORTER_ID,
  decodeEvents,
  doneLinesDirectory,
  doneLinesS3,
  eventOf,
  expectedEvents,
  exporterEnv,
  importerEnv,
  kill,
  liveEvents,
  makeConsumer,
  s3Storage,
  seededRandom,
  snapshot,
  snapshotFiles,
  stop,
  TOKEN_A,
  TOKEN_B
} from "./roundTrip.js"

// Platform A's live stream → the built exporter → objects → the built importer → platform B's queue on a
// real RabbitMQ. These tests run `node dist/main.js`: `npm test` builds it first.

const brokerScoped = Effect.acquireRelease(Effect.promise(() => startRabbitMq()), (broker) => Effect.promise(() => broker.close()))

const directoryScoped = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "stream-sync-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

/** Platform A with its knowledge and live stream, platform B registering its importer on the broker, and B's queue. */
const twoPlatforms = (snapshotSize: number, liveCount: number) =>
  Effect.gen(function*() {
    const broker = yield* brokerScoped
    const objects = snapshot(snapshotSize)
    const platformA = yield* openCtiStandInScoped({ token: TOKEN_A, stream: { snapshot: objects, events: liveEvents(0, liveCount), heartbeatIntervalMs: 300 } })
    for (const [fileId, content] of snapshotFiles(snapshotSize)) platformA.files.put(fileId, content)
    const platformB = yield* openCtiStandInScoped({ token: TOKEN_B, userId: APPLICANT_ID, rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
    const queue = yield* Effect.promise(() => declarePushQueue(broker, IMPORTER_ID))
    return { broker, objects, platformA, platformB, consumer: makeConsumer(broker, queue.queue) }
  })

/** Every event of A reaches B's queue once, in A's order, each message the exact bytes of an exported line. */
const assertExactlyOnce = (platformA: OpenCtiStandIn, objects: ReturnType<typeof snapshot>, received: ReadonlyArray<string>, exported: ReadonlyArray<string>) => {
  assert.deepStrictEqual(received.map(eventOf), [...expectedEvents(platformA, objects)])
  assert.deepStrictEqual(received, [...exported])
}

type World = Effect.Success<ReturnType<typeof twoPlatforms>>

/** Runs both connectors on these storage variables until B's queue holds every event of A, then stops both (SIGTERM, exit 0). */
const syncUntilDone = (world: World, exporterStorage: Record<string, string>, importerStorage: Record<string, string>) =>
  Effect.gen(function*() {
    const exporter = yield* connectorProcess("stream-export", exporterEnv(world.platformA, exporterStorage))
    const importer = yield* connectorProcess("stream-import", importerEnv(world.platformB, importerStorage))
    const total = expectedEvents(world.platformA, world.objects).length
    yield* waitUntil("every event in B's queue", world.consumer.drain, (count) => count >= total, 90)
    yield* stop(exporter)
    yield* stop(importer)
    yield* world.consumer.drain
  })

describe("two-platform sync through the built connectors", () => {
  it.live("over S3: A's events reach B's queue in order, each exactly once, byte-equal to the exported lines", () =>
    Effect.gen(function*() {
      const world = yield* twoPlatforms(40, 60)
      const s3 = yield* s3ServerScoped()
      const storage = s3Storage(s3)
      yield* syncUntilDone(world, storage.exporter, storage.importer)
      assertExactlyOnce(world.platformA, world.objects, decodeEvents(world.consumer.taken), yield* doneLinesS3(s3))
      world.platformB.assertNoInvalidDocuments()
    }), { timeout: 240_000 })

  it.live("over a directory: the same, through EXPORT_DIRECTORY and IMPORT_DIRECTORY", () =>
    Effect.gen(function*() {
      const world = yield* twoPlatforms(40, 60)
      const directory = yield* directoryScoped
      const transfer = join(directory, "transfer")
      const done = join(directory, "done")
      yield* syncUntilDone(world, { EXPORT_DIRECTORY: transfer }, { IMPORT_DIRECTORY: transfer, IMPORT_DIRECTORY_DONE: done, MINIO_FOLDER: "opencti-stream" })
      assertExactlyOnce(world.platformA, world.objects, decodeEvents(world.consumer.taken), yield* doneLinesDirectory(done))
    }), { timeout: 240_000 })

  it.live("SIGKILLs of both connectors at random moments: nothing lost, repeats only within the importer's unconfirmed windows", () =>
    Effect.gen(function*() {
      const seed = 20261203
      const random = seededRandom(seed)
      // A snapshot large enough that the first kills land while the exporter still writes its groups.
      const world = yield* twoPlatforms(1500, 0)
      const s3 = yield* s3ServerScoped()
      const storage = s3Storage(s3)
      const window = 20
      const startExporter = connectorProcess("stream-export", exporterEnv(world.platformA, storage.exporter))
      const startImporter = connectorProcess("stream-import", importerEnv(world.platformB, storage.importer, { IMPORT_CONFIRM_WINDOW: String(window) }))
      let exporter = yield* startExporter
      let importer = yield* startImporter
      let importerKills = 0
      let exporterKills = 0
      let appended = 0
      for (let round = 0; round < 8; round++) {
        const count = 40 + Math.floor(random() * 80)
        world.platformA.stream.append(...liveEvents(appended, count))
        appended += count
        // Kills land while events flow: once B's queue has grown since the last round, a random moment later.
        const arrived = world.consumer.taken.length
        yield* waitUntil("events flowing again", world.consumer.drain, (total) => total > arrived, 90)
        yield* Effect.sleep(Duration.millis(Math.floor(random() * 1500)))
        const which = random()
        if (which < 0.67) {
          yield* kill(exporter)
          exporterKills += 1
          exporter = yield* startExporter
        }
        if (which >= 0.33) {
          yield* kill(importer)
          importerKills += 1
          importer = yield* startImporter
        }
        yield* world.consumer.drain
      }
      const expected = expectedEvents(world.platformA, world.objects)
      yield* waitUntil("every event in B's queue", Effect.map(world.consumer.drain, () => new Set(decodeEvents(world.consumer.taken).map(eventOf))), (seen) => expected.every((event) => seen.has(event)), 180)
      // And every object the exporter wrote imported: the two file counts meet.
      const fileCount = (standIn: OpenCtiStandIn, id: string): unknown => JSON.parse(standIn.connectors.get(id)?.state ?? "null")?.file_count
      yield* waitUntil("B's importer at A's exporter's file count", Effect.sync(() => [fileCount(world.platformA, EXPORTER_ID), fileCount(world.platformB, IMPORTER_ID)]), ([a, b]) => a !== undefined && a === b, 90)
      yield* stop(exporter)
      yield* stop(importer)
      yield* world.consumer.drain

      const received = decodeEvents(world.consumer.taken).map(eventOf)
      const seen = new Set(received)
      assert.deepStrictEqual(expected.filter((event) => !seen.has(event)), [], `seed ${seed}: no event lost`)
      assert.deepStrictEqual([...seen], [...expected], `seed ${seed}: first arrivals in A's order`)
      const exported = (yield* doneLinesS3(s3)).map(eventOf)
      const importerRepeats = received.length - exported.length
      const exporterRepeats = exported.length - new Set(exported).size
      console.info(`seed ${seed}: ${expected.length} events, ${received.length} received; ${importerRepeats} sent twice by the importer after ${importerKills} kill(s), ${exporterRepeats} written twice by the exporter after ${exporterKills} kill(s)`)
      assert.isAtMost(importerRepeats, importerKills * window, `seed ${seed}: the importer repeats at most its ${window}-event window per kill`)
      assert.strictEqual(exporterRepeats, 0, `seed ${seed}: the exporter wrote ${exporterRepeats} event(s) a second time after a restart`)
    }), { timeout: 420_000 })
})
