import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Logger, Option, Redacted, References, Result } from "effect"
import { afterAll, beforeAll } from "vitest"
import { AmqpPublisher } from "../../src/amqp/AmqpPublisher.js"
import type { AmqpEndpoint } from "../../src/amqp/AmqpEndpoint.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { makeLevel } from "../support/Level.js"
import { declarePushQueue, fillQueue, takeMessages } from "../support/RabbitMqQueues.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"

const maxMessageBytes = 64 * 1024
const quickRetry = { retries: 3, backoff: Duration.millis(100) }
/** Enough attempts that a queue drained after the first NACK is always published to, however slow the drain. */
const patientRetry = { retries: 10, backoff: Duration.millis(50) }

/** The broker either closes the connection (CONNECTION_FORCED) or is gone before it can say so. */
const brokerGone = /CONNECTION_FORCED|ECONNRESET|ECONNREFUSED|closed/

let broker: RabbitMqHandle

beforeAll(async () => {
  broker = await startRabbitMq({ maxMessageBytes })
})

afterAll(async () => {
  await broker?.close()
})

const endpoint = (overrides: Partial<AmqpEndpoint> = {}): AmqpEndpoint => ({
  host: broker.host,
  port: broker.port,
  vhost: broker.vhost,
  user: broker.user,
  pass: Redacted.make(broker.pass),
  tls: Option.none(),
  ...overrides
})

const publisherLayer = (overrides: Partial<AmqpEndpoint> = {}, retry = quickRetry) => AmqpPublisher.layer(endpoint(overrides), retry)

/** The publisher's logs that start with `prefix`, by their annotations, as they come. */
const watchLogs = (prefix: string) => {
  const seen: Array<Readonly<Record<string, unknown>>> = []
  const count = makeLevel()
  const logger = Logger.make(({ fiber, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    if (!text.startsWith(prefix)) return
    seen.push(fiber.getRef(References.CurrentLogAnnotations))
    count.add()
  })
  return { seen, first: count.reach(1), layer: Logger.layer([logger]) }
}

/** The NACKs the publisher reports, each with the number of messages the broker refused. */
const recordNacks = () => {
  const logs = watchLogs("RabbitMQ refused messages (NACK)")
  return { refused: () => logs.seen.map((annotations) => Number(annotations["refused"])), first: logs.first, layer: logs.layer }
}

const publish = (exchange: string, routingKey: string, text: string) =>
  Effect.flatMap(AmqpPublisher, (publisher) => publisher.publish(exchange, routingKey, new TextEncoder().encode(text)))

describe("AmqpPublisher", () => {
  it.live("publishes persistent utf-8 messages and returns once the broker confirmed them", () =>
    Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "confirmed"))
      yield* publish(target.exchange, target.routingKey, "first")
      yield* publish(target.exchange, target.routingKey, "second")
      const messages = yield* Effect.promise(() => takeMessages(broker, target.queue))
      assert.deepStrictEqual(messages.map((message) => message.content.toString("utf8")), ["first", "second"])
      for (const message of messages) {
        assert.strictEqual(message.properties.deliveryMode, 2)
        assert.strictEqual(message.properties.contentEncoding, "utf-8")
        assert.strictEqual(message.fields.exchange, target.exchange)
        assert.strictEqual(message.fields.routingKey, target.routingKey)
      }
    }).pipe(Effect.provide(publisherLayer())))

  it.live("publishes again a message the broker refused, until it is accepted", () => {
    const nacks = recordNacks()
    return Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "full-for-a-while", { maxLength: 1, overflow: "reject-publish" }))
      yield* Effect.promise(() => fillQueue(broker, target.queue, 1))
      // The queue is full: the first attempts are NACKed until the filler is consumed, after the first NACK.
      const drained = Effect.andThen(nacks.first, Effect.promise(() => takeMessages(broker, target.queue, 1)))
      const [, filler] = yield* Effect.all([publish(target.exchange, target.routingKey, "patient"), drained], { concurrency: 2 })
      assert.deepStrictEqual(filler.map((message) => message.content.toString("utf8")), ["filler 0"])
      const published = yield* Effect.promise(() => takeMessages(broker, target.queue))
      assert.deepStrictEqual(published.map((message) => message.content.toString("utf8")), ["patient"])
      assert.isNotEmpty(nacks.refused())
      assert.isTrue(nacks.refused().every((count) => count === 1))
    }).pipe(Effect.provide([publisherLayer({}, patientRetry), nacks.layer]))
  })

  it.live("publishes a batch in order before waiting, and publishes again only the messages refused", () => {
    const nacks = recordNacks()
    return Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "room-for-three", { maxLength: 3, overflow: "reject-publish" }))
      const bodies = ["m0", "m1", "m2", "m3", "m4"].map((text) => new TextEncoder().encode(text))
      const drained = Effect.andThen(nacks.first, Effect.promise(() => takeMessages(broker, target.queue, 3)))
      const publishAll = Effect.flatMap(AmqpPublisher, (publisher) => publisher.publishAll(target.exchange, target.routingKey, bodies))
      const [, first] = yield* Effect.all([publishAll, drained], { concurrency: 2 })
      assert.deepStrictEqual(first.map((message) => message.content.toString("utf8")), ["m0", "m1", "m2"])
      const retried = yield* Effect.promise(() => takeMessages(broker, target.queue))
      assert.deepStrictEqual(retried.map((message) => message.content.toString("utf8")), ["m3", "m4"])
      // The first attempt had m3 and m4 refused, and only the refused were published again.
      assert.strictEqual(nacks.refused()[0], 2)
    }).pipe(Effect.provide([publisherLayer({}, patientRetry), nacks.layer]))
  })

  it.live("gives up after a bounded number of NACKs, and keeps publishing afterwards", () => {
    const nacks = recordNacks()
    return Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "always-full", { maxLength: 1, overflow: "reject-publish" }))
      yield* Effect.promise(() => fillQueue(broker, target.queue, 1))
      const error = yield* Effect.flip(publish(target.exchange, target.routingKey, "refused"))
      assert.strictEqual(error._tag, "AmqpError")
      assert.strictEqual(error.operation, "publish")
      assert.include(error.message, "RabbitMQ still refused 1 message(s) to amqp.worker.exchange after 4 attempts (NACK)")
      assert.deepStrictEqual(nacks.refused(), [1, 1, 1, 1])
      const other = yield* Effect.promise(() => declarePushQueue(broker, "after-nacks"))
      yield* publish(other.exchange, other.routingKey, "still fine")
      assert.lengthOf(yield* Effect.promise(() => takeMessages(broker, other.queue)), 1)
      assert.lengthOf(nacks.refused(), 4)
    }).pipe(Effect.provide([publisherLayer(), nacks.layer]))
  })

  it.live("publishes with mandatory: a message no queue receives fails the publish, and later ones still go through", () =>
    Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "routed"))
      const error = yield* Effect.flip(Effect.flatMap(AmqpPublisher, (publisher) =>
        publisher.publishAll(target.exchange, "bound-to-no-queue", ["a", "b"].map((text) => new TextEncoder().encode(text)))))
      assert.strictEqual(error.operation, "publish")
      assert.include(error.message, "RabbitMQ returned 2 message(s) to amqp.worker.exchange with routing key bound-to-no-queue as unroutable (312 NO_ROUTE)")
      yield* publish(target.exchange, target.routingKey, "routed")
      const messages = yield* Effect.promise(() => takeMessages(broker, target.queue))
      assert.deepStrictEqual(messages.map((message) => message.content.toString("utf8")), ["routed"])
    }).pipe(Effect.provide(publisherLayer())))

  it.live("fails with an AmqpError when the broker refuses the connection or the credentials", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(Layer.build(publisherLayer({ port: 1 })))
      assert.strictEqual(refused.operation, "connect")
      assert.match(refused.message, /^cannot connect to amqp:\/\/opencti@127\.0\.0\.1:1\/%2F: .*ECONNREFUSED/)

      const denied = yield* Effect.flip(Layer.build(publisherLayer({ pass: Redacted.make("wrong") })))
      assert.strictEqual(denied.operation, "connect")
      assert.include(denied.message, "ACCESS_REFUSED")
      assert.notInclude(denied.message, "wrong")
    }))

  it.live("an oversized message costs the channel: that publish and every later one fail, none hangs", () =>
    Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "oversized"))
      const error = yield* Effect.flip(publish(target.exchange, target.routingKey, "x".repeat(maxMessageBytes + 1)))
      assert.strictEqual(error.operation, "channel")
      assert.include(error.message, "PRECONDITION_FAILED")
      const next = yield* Effect.flip(publish(target.exchange, target.routingKey, "small"))
      assert.deepStrictEqual(next, error)
      assert.lengthOf(yield* Effect.promise(() => takeMessages(broker, target.queue)), 0)
    }).pipe(Effect.provide(publisherLayer()), Effect.timeout(Duration.seconds(30))))

  it.live("a broker restart fails the next publish with the reason, without waiting", () =>
    Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "restarted"))
      yield* publish(target.exchange, target.routingKey, "before")
      yield* Effect.promise(() => broker.restart())
      const started = Date.now()
      const result = yield* Effect.result(publish(target.exchange, target.routingKey, "after"))
      assert.isTrue(Result.isFailure(result))
      const error = Result.isFailure(result) ? result.failure : undefined
      assert.strictEqual(error?._tag, "AmqpError")
      assert.match(error?.message ?? "", brokerGone)
      // Failing at once, not after a heartbeat timeout or a reconnect loop.
      assert.isBelow(Date.now() - started, 5_000)
      assert.deepStrictEqual((yield* Effect.promise(() => takeMessages(broker, target.queue))).map((message) => message.content.toString("utf8")), ["before"])
    }).pipe(Effect.provide(publisherLayer()), Effect.timeout(Duration.seconds(60))))

  it.live("a publish waiting for its confirm fails when the broker goes away", () => {
    const connected = watchLogs("Connected to RabbitMQ")
    return Effect.gen(function*() {
      const blocking = yield* Effect.acquireRelease(
        Effect.promise(() => startRabbitMq({ blockPublishers: true })),
        (started) => Effect.promise(() => started.close())
      )
      const target = yield* Effect.promise(() => declarePushQueue(blocking, "blocked"))
      const layer = AmqpPublisher.layer(endpoint({ port: blocking.port }), quickRetry)
      const waiting = yield* Effect.forkChild(publish(target.exchange, target.routingKey, "held").pipe(Effect.provide(layer)))
      // Connected, the publisher sends at once; a second later it still waits for the blocked broker's confirm.
      yield* connected.first
      yield* Effect.sleep(Duration.seconds(1))
      assert.isUndefined(waiting.pollUnsafe())
      yield* Effect.promise(() => blocking.close())
      const error = yield* Effect.flip(Fiber.join(waiting))
      assert.strictEqual(error._tag, "AmqpError")
      assert.notStrictEqual(error.operation, "connect")
      assert.match(error.message, brokerGone)
    }).pipe(Effect.provide(connected.layer), Effect.timeout(Duration.seconds(120)))
  })
})
