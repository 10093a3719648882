import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { Connector } from "../../src/connector/Connector.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"
import type { Registration } from "../../src/opencti/OpenCti.js"
import * as AmqpBundleSender from "../../src/s3-import/AmqpBundleSender.js"
import { BundleSender } from "../../src/s3-import/BundleSender.js"
import { S3ImportConfig } from "../../src/s3-import/S3ImportConfig.js"
import { StixBundle } from "../../src/stix/Bundle.js"
import { splitBundle } from "../../src/stix/BundleSplitter.js"
import { makePlatformStub } from "../support/PlatformStub.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { declarePushQueue, queueDepth, takeMessages } from "../support/RabbitMqQueues.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"
import type { PushQueue } from "../support/RabbitMqQueues.js"
import { decodeMessage } from "./queueMessages.js"

const connectorId = "5b5d1e7a-6c3f-4f0e-9c67-7a1d8a2d2f10"
const applicantId = "1c1b5d07-6f4c-4c1e-9a3c-2a8f0c1b9a11"
const workId = "work_5b5d1e7a-6c3f-4f0e-9c67-7a1d8a2d2f10_2024-10-27T03:33:20.123Z"
/** RabbitMQ's max_message_size in this suite, and the connector's limit in the size tests. */
const brokerLimit = 64 * 1024

let broker: RabbitMqHandle
let push: PushQueue

beforeAll(async () => {
  broker = await startRabbitMq({ maxMessageBytes: brokerLimit })
  push = await declarePushQueue(broker, connectorId)
})

afterAll(async () => {
  await broker?.close()
})

beforeEach(async () => {
  await takeMessages(broker, push.queue)
})

const golden = (name: string): StixBundle =>
  Schema.decodeUnknownSync(StixBundle)(JSON.parse(readFileSync(new URL(`../fixtures/golden/${name}/expected.json`, import.meta.url), "utf8")))

/** A bundle of `count` malware objects, each with a description of `size` characters. */
const malwareBundle = (count: number, size = 10): StixBundle => ({
  type: "bundle",
  id: "bundle--00000000-0000-4000-8000-000000000001",
  objects: Array.from({ length: count }, (_, index) => ({
    type: "malware",
    spec_version: "2.1",
    id: `malware--00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    name: `Malware ${index}`,
    is_family: true,
    description: "d".repeat(size)
  }))
})

/** A registration whose connection is wrong unless `MQ_*` fixes it, as when the platform names a host only it can resolve. */
const registration = (connection: Partial<Registration["connection"]> = {}): Registration => ({
  connectorState: null,
  connection: { host: "rabbitmq", vhost: "/", useSsl: false, port: 5672, user: "opencti", pass: "platform-side", ...connection },
  pushExchange: push.exchange,
  pushRouting: push.routingKey,
  applicantId
})

const makeWorld = (env: Record<string, string>, connection?: Partial<Registration["connection"]>) => {
  const openCti = makePlatformStub()
  /** Messages in the push queue when the expectations were added. */
  const depthAtExpectations: Array<number> = []
  const recordingOpenCti = Layer.effect(
    OpenCti,
    Effect.map(OpenCti, (inner) =>
      OpenCti.of({
        ...inner,
        workAddExpectations: (id, expectations) =>
          Effect.promise(() => queueDepth(broker, push.queue)).pipe(
            Effect.tap((depth) => Effect.sync(() => depthAtExpectations.push(depth))),
            Effect.andThen(inner.workAddExpectations(id, expectations))
          )
      }))
  ).pipe(Layer.provide(openCti.layer))
  const overrides = connection === undefined ? { MQ_HOST: broker.host, MQ_PORT: String(broker.port), MQ_PASS: broker.pass } : {}
  const layer = AmqpBundleSender.layer.pipe(
    Layer.provide([Layer.succeed(Connector, Connector.of(registration(connection))), recordingOpenCti, S3ImportConfig.layer]),
    Layer.provide(OpenCtiConfig.layer({ type: "EXTERNAL_IMPORT", name: "S3", scope: [] })),
    Layer.provide(layerRecord({ OPENCTI_URL: "http://opencti.test", OPENCTI_TOKEN: "token", CONNECTOR_ID: connectorId, S3_BUCKET_NAME: "feed", ...overrides, ...env }))
  )
  const expectations = () => openCti.calls.flatMap((call) => (call.op === "workAddExpectations" ? [[call.workId, call.expectations]] : []))
  return { layer, expectations, depthAtExpectations }
}

const send = (bundle: StixBundle) => Effect.flatMap(BundleSender, (sender) => sender.send(bundle, workId))

const published = Effect.promise(() => takeMessages(broker, push.queue)).pipe(
  Effect.map((messages) =>
    messages.map((message) => {
      assert.strictEqual(message.fields.exchange, push.exchange)
      assert.strictEqual(message.fields.routingKey, push.routingKey)
      return decodeMessage(message)
    }))
)

describe("AmqpBundleSender", () => {
  it.live("no_split (the default): one message with the whole bundle, after one expectation per object", () => {
    const world = makeWorld({})
    const bundle = golden("credit-individual-identity")
    return Effect.gen(function*() {
      yield* send(bundle)
      const messages = yield* published
      assert.lengthOf(messages, 1)
      const [message] = messages
      assert.deepStrictEqual({ ...message!.body, content: "(the bundle)" }, {
        bundle_type: "QUEUE_BUNDLE",
        applicant_id: applicantId,
        action_sequence: 1,
        entities_types: [],
        content: "(the bundle)",
        update: false,
        draft_id: null,
        work_id: workId,
        no_split: true
      })
      assert.deepStrictEqual(message!.bundle, bundle)
      assert.deepStrictEqual(world.expectations(), [[workId, bundle.objects?.length]])
      assert.deepStrictEqual(world.depthAtExpectations, [0])
    }).pipe(Effect.provide(world.layer))
  })

  it.live("split: one message per object in the splitter's order, action_sequence 1..n, expectations first", () => {
    const world = makeWorld({ S3_NO_SPLIT_BUNDLES: "false" })
    const bundle = golden("id-rewrite-all-types")
    const split = splitBundle(bundle.id!, bundle.objects ?? [])
    return Effect.gen(function*() {
      yield* send(bundle)
      const messages = yield* published
      assert.deepStrictEqual(messages.map((message) => message.body.action_sequence), split.bundles.map((_, index) => index + 1))
      assert.deepStrictEqual(messages.map((message) => message.bundle), [...split.bundles])
      for (const message of messages) {
        assert.notProperty(message.body, "no_split")
        assert.strictEqual(message.body.applicant_id, applicantId)
        assert.strictEqual(message.body.work_id, workId)
      }
      assert.deepStrictEqual(world.expectations(), [[workId, split.expectations]])
      assert.deepStrictEqual(world.depthAtExpectations, [0])
    }).pipe(Effect.provide(world.layer))
  })

  it.live("split: a bundle with nothing the platform imports is an error, and nothing is sent", () => {
    const world = makeWorld({ S3_NO_SPLIT_BUNDLES: "false" })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(send({ type: "bundle", id: "bundle--1", objects: [{ type: "x-custom", id: "x-custom--1" }] }))
      assert.include(error.message, "Nothing to import")
      assert.deepStrictEqual(world.expectations(), [])
      assert.lengthOf(yield* published, 0)
    }).pipe(Effect.provide(world.layer))
  })

  it.live("size guard, no_split: an oversized bundle fails before anything is sent, and the channel stays usable", () => {
    const world = makeWorld({ S3_MAX_MESSAGE_BYTES: String(brokerLimit) })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(send(malwareBundle(100, 500)))
      assert.match(error.message, /^The bundle makes a \d+-byte queue message, over the limit of 65536 bytes \(S3_MAX_MESSAGE_BYTES\); set S3_NO_SPLIT_BUNDLES=false/)
      assert.deepStrictEqual(world.expectations(), [])
      yield* send(malwareBundle(2))
      assert.lengthOf(yield* published, 1)
    }).pipe(Effect.provide(world.layer))
  })

  it.live("size guard, split: a large bundle goes out one object per message; one oversized object fails the bundle", () => {
    const world = makeWorld({ S3_NO_SPLIT_BUNDLES: "false", S3_MAX_MESSAGE_BYTES: String(brokerLimit) })
    return Effect.gen(function*() {
      yield* send(malwareBundle(100, 500))
      assert.lengthOf(yield* published, 100)
      const oversized = malwareBundle(3)
      const huge = { ...malwareBundle(1, brokerLimit).objects![0]!, id: "malware--ffffffff-0000-4000-8000-000000000000" }
      const error = yield* Effect.flip(send({ ...oversized, objects: [...oversized.objects!, huge] }))
      assert.match(error.message, /^The object malware--ffffffff-0000-4000-8000-000000000000 makes a \d+-byte queue message, over the limit of 65536 bytes/)
      assert.deepStrictEqual(world.expectations(), [[workId, 100]])
      assert.lengthOf(yield* published, 0)
    }).pipe(Effect.provide(world.layer))
  })

  it.live("connects where the registration says when no MQ_* variable overrides it", () => {
    const world = makeWorld({}, { host: broker.host, port: broker.port, user: broker.user, pass: broker.pass })
    return Effect.gen(function*() {
      yield* send(malwareBundle(1))
      assert.lengthOf(yield* published, 1)
    }).pipe(Effect.provide(world.layer))
  })

  it.live("fails to start when the broker cannot be reached", () => {
    const world = makeWorld({}, { host: broker.host, port: 1 })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(world.layer))
      assert.strictEqual(error._tag, "AmqpError")
      assert.include(error.message, "cannot connect to amqp://opencti@127.0.0.1:1/%2F")
    })
  })
})
