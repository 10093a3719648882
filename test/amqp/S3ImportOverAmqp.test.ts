import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import * as Platform from "../../src/connector/Platform.js"
import * as AmqpBundleSender from "../../src/s3-import/AmqpBundleSender.js"
import { S3ImportConfig } from "../../src/s3-import/S3ImportConfig.js"
import { S3Importer } from "../../src/s3-import/S3Importer.js"
import * as Transforms from "../../src/s3-import/Transforms.js"
import { StateStore } from "../../src/state/StateStore.js"
import { ObjectStorage } from "../../src/storage/ObjectStorage.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { declarePushQueue, takeMessages } from "../support/RabbitMqQueues.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"
import type { PushQueue } from "../support/RabbitMqQueues.js"
import { decodeMessage } from "./queueMessages.js"

const connectorId = "0d2f4b7e-5f3c-4b8a-9d61-2a7c3e9b1f40"
const token = "s3-import-token"
const userId = "3e6d0a52-8d1b-4c7e-a0f4-6b2c9d8e1a37"

let broker: RabbitMqHandle
let platform: OpenCtiStandIn
let push: PushQueue

beforeAll(async () => {
  broker = await startRabbitMq()
  platform = await startOpenCtiStandIn({ token, userId, rabbitmq: { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass } })
  push = await declarePushQueue(broker, connectorId)
})

afterAll(async () => {
  await platform?.close()
  await broker?.close()
})

beforeEach(async () => {
  await takeMessages(broker, push.queue)
})

const malwareId = (name: string, index: number): string => `malware--0000000${index}-0000-4000-8000-${name.padStart(12, "0")}`

const malwareBundle = (name: string, count: number): string =>
  JSON.stringify({
    type: "bundle",
    id: `bundle--00000000-0000-4000-8000-${name.padStart(12, "0")}`,
    objects: Array.from({ length: count }, (_, index) => ({
      type: "malware",
      spec_version: "2.1",
      id: malwareId(name, index),
      name: `Malware ${name} ${index}`,
      is_family: true,
      created: "2024-01-01T00:00:00.000Z",
      modified: "2024-01-02T00:00:00.000Z"
    }))
  })

/**
 * The S3 import with its real platform, queue and sender adapters against the stand-in and RabbitMQ,
 * over an in-memory bucket; `afterDelete` runs after each object is deleted.
 */
const makeWorld = (files: Record<string, string>, afterDelete: (key: string) => Effect.Effect<void> = () => Effect.void, connector = connectorId) => {
  const objects = new Map(Object.entries(files).map(([key, body]) => [key, { body: new TextEncoder().encode(body), lastModified: 1_700_000_000_000, contentType: "application/json" }]))
  const storage = Layer.effect(
    ObjectStorage,
    Effect.map(ObjectStorage, (inner) => ObjectStorage.of({ ...inner, deleteVersion: (bucket, key, version) => inner.deleteVersion(bucket, key, version).pipe(Effect.tap(() => afterDelete(key))) }))
  ).pipe(Layer.provide(ObjectStorage.layerMemory(new Map([["feed", objects]]))))
  const config = Layer.mergeAll(OpenCtiConfig.layer({ type: "EXTERNAL_IMPORT", name: "S3", scope: [] }), S3ImportConfig.layer).pipe(
    Layer.provide(layerRecord({
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: token,
      CONNECTOR_ID: connector,
      S3_BUCKET_NAME: "feed",
      S3_BUCKET_PREFIXES: "ACI_TI",
      S3_TRANSFORM: "none"
    }))
  )
  const layer = S3Importer.layer.pipe(
    Layer.provide([storage, Transforms.layer, AmqpBundleSender.layer, StateStore.layerMemory()]),
    Layer.provide(Platform.layer),
    Layer.provide(config)
  )
  return { layer, keys: () => [...objects.keys()].sort() }
}

const cycle = Effect.flatMap(S3Importer, (importer) => importer.cycle)

const latestWork = () => platform.works.ofConnector(connectorId).at(-1)

describe("the S3 import over AMQP", () => {
  it.live("publishes each file as one no_split message, counts its objects on the work, then deletes it", () => {
    const world = makeWorld({ "ACI_TI/a.json": malwareBundle("a", 2), "ACI_TI/b.json": malwareBundle("b", 3) })
    return Effect.gen(function*() {
      yield* cycle
      const messages = (yield* Effect.promise(() => takeMessages(broker, push.queue))).map(decodeMessage)
      const work = latestWork()
      assert.deepStrictEqual(world.keys(), [])
      assert.deepStrictEqual(messages.map((message) => [message.body.applicant_id, message.body.work_id, message.body.action_sequence, message.body.no_split]), [
        [userId, work?.id, 1, true],
        [userId, work?.id, 1, true]
      ])
      assert.deepStrictEqual(
        messages.map((message) => (message.bundle as { readonly objects: ReadonlyArray<{ readonly id: string }> }).objects.map((object) => object.id)),
        [[malwareId("a", 0), malwareId("a", 1)], [malwareId("b", 0), malwareId("b", 1), malwareId("b", 2)]]
      )
      assert.strictEqual(work?.expectations, 5)
      assert.deepStrictEqual(work?.toProcessed, { message: "Connector successfully processed S3 prefix 'ACI_TI': 2 file(s) ingested", inError: false })
      platform.assertNoInvalidDocuments()
    }).pipe(Effect.provide(world.layer))
  })

  it.live("a message no queue receives is a failed send: the file is kept and the work closed in error", () => {
    // Registered, but no queue is bound to its routing key.
    const unbound = "9a1c7e52-3b4d-4f6e-8a9b-0c1d2e3f4a5b"
    const world = makeWorld({ "ACI_TI/a.json": malwareBundle("a", 1) }, () => Effect.void, unbound)
    return Effect.gen(function*() {
      const error = yield* Effect.flip(cycle)
      assert.deepStrictEqual([error.phase, error.key], ["send", "ACI_TI/a.json"])
      assert.include(error.message, `returned 1 message(s) to amqp.worker.exchange with routing key push_routing_${unbound} as unroutable (312 NO_ROUTE)`)
      assert.deepStrictEqual(world.keys(), ["ACI_TI/a.json"])
      const work = platform.works.ofConnector(unbound).at(-1)
      assert.strictEqual(work?.toProcessed?.inError, true)
      assert.include(work?.toProcessed?.message, "unroutable")
    }).pipe(Effect.provide(world.layer))
  })

  it.live("a broker restart mid-cycle fails the cycle cleanly: the file is kept and the work closed in error", () => {
    const world = makeWorld(
      { "ACI_TI/1.json": malwareBundle("1", 1), "ACI_TI/2.json": malwareBundle("2", 1), "ACI_TI/3.json": malwareBundle("3", 1) },
      (key) => (key === "ACI_TI/1.json" ? Effect.promise(() => broker.restart()) : Effect.void)
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(cycle)
      assert.strictEqual(error._tag, "ImportError")
      assert.strictEqual(error.phase, "send")
      // The broker either closes the connection (CONNECTION_FORCED) or is gone before it can say so.
      assert.match(error.message, /RabbitMQ connection: .*(CONNECTION_FORCED|ECONNRESET|ECONNREFUSED|closed)/)
      // The delete of a file overlaps the send of the next: the restart, made while deleting the first
      // file, may fail the second or the third. Whichever fails is kept with every later file.
      const all = ["ACI_TI/1.json", "ACI_TI/2.json", "ACI_TI/3.json"]
      const failed = all.indexOf(error.key ?? "")
      assert.isAtLeast(failed, 1)
      assert.deepStrictEqual(world.keys(), all.slice(failed))
      const messages = (yield* Effect.promise(() => takeMessages(broker, push.queue))).map(decodeMessage)
      // Files before the failed one were confirmed; the failed one may have reached the queue with its
      // confirm lost in the restart: it is kept, so it is sent again (at least once), and sends go one at a time.
      assert.isAtMost(messages.length, failed + 1)
      const work = latestWork()
      assert.strictEqual(work?.toProcessed?.inError, true)
      assert.include(work?.toProcessed?.message, error.key)
    }).pipe(Effect.provide(world.layer), Effect.timeout(Duration.seconds(90)))
  })
})
