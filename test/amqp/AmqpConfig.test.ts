import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { AmqpConfig, resolveEndpoint } from "../../src/amqp/AmqpConfig.js"
import { AmqpPublisher } from "../../src/amqp/AmqpPublisher.js"
import { layerRecord } from "../../src/config/ConfigSource.js"
import type { Registration } from "../../src/opencti/OpenCti.js"
import { startRabbitMq } from "../support/RabbitMq.js"
import { declarePushQueue, takeMessages } from "../support/RabbitMqQueues.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"

const pemText = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"

const fromPlatform: Registration["connection"] = { host: "rabbitmq", vhost: "/", useSsl: false, port: 5672, user: "opencti", pass: "platform-side" }

const readConfig = (env: Record<string, string>) => Effect.provide(AmqpConfig, AmqpConfig.layer.pipe(Layer.provide(layerRecord(env))))

const endpointFor = (env: Record<string, string>, connection = fromPlatform) => Effect.map(readConfig(env), (config) => resolveEndpoint(connection, config))

let directory: string

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "amqp-config-"))
  await writeFile(join(directory, "ca.pem"), pemText)
})

afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

describe("AmqpConfig", () => {
  it.effect("uses the connection of the registration when no MQ_* variable is set", () =>
    Effect.gen(function*() {
      const endpoint = yield* endpointFor({})
      assert.deepStrictEqual({ ...endpoint, pass: Redacted.value(endpoint.pass) }, {
        host: "rabbitmq",
        port: 5672,
        vhost: "/",
        user: "opencti",
        pass: "platform-side",
        tls: Option.none()
      })
      const secure = yield* endpointFor({}, { ...fromPlatform, useSsl: true })
      assert.deepStrictEqual(secure.tls, Option.some({ ca: Option.none(), cert: Option.none(), key: Option.none(), passphrase: Option.none(), rejectUnauthorized: false }))
    }))

  it.effect("lets each MQ_* variable override its field, MQ_USE_SSL both ways", () =>
    Effect.gen(function*() {
      const endpoint = yield* endpointFor({
        MQ_HOST: "broker.internal",
        MQ_PORT: "5671",
        MQ_VHOST: "opencti",
        MQ_USE_SSL: "yes",
        MQ_USER: "connector",
        MQ_PASS: "secret",
        MQ_USE_SSL_CA: join(directory, "ca.pem"),
        MQ_USE_SSL_CERT: pemText,
        MQ_USE_SSL_KEY: pemText,
        MQ_USE_SSL_PASSPHRASE: "phrase",
        MQ_USE_SSL_REJECT_UNAUTHORIZED: "true"
      })
      assert.deepStrictEqual([endpoint.host, endpoint.port, endpoint.vhost, endpoint.user, Redacted.value(endpoint.pass)], ["broker.internal", 5671, "opencti", "connector", "secret"])
      const tls = Option.getOrThrow(endpoint.tls)
      assert.deepStrictEqual([tls.ca, tls.cert, Option.map(tls.key, Redacted.value), Option.map(tls.passphrase, Redacted.value), tls.rejectUnauthorized], [
        Option.some(pemText),
        Option.some(pemText),
        Option.some(pemText),
        Option.some("phrase"),
        true
      ])
      const plain = yield* endpointFor({ MQ_USE_SSL: "false" }, { ...fromPlatform, useSsl: true })
      assert.isTrue(Option.isNone(plain.tls))
    }))

  it.effect("names the variable of an invalid value or an unreadable PEM file", () =>
    Effect.gen(function*() {
      const badBoolean = yield* Effect.flip(readConfig({ MQ_USE_SSL: "maybe" }))
      assert.strictEqual(badBoolean.variable, "MQ_USE_SSL")
      const badPort = yield* Effect.flip(readConfig({ MQ_PORT: "amqp" }))
      assert.strictEqual(badPort.variable, "MQ_PORT")
      const missing = yield* Effect.flip(readConfig({ MQ_USE_SSL_CA: join(directory, "absent.pem") }))
      assert.strictEqual(missing.variable, "MQ_USE_SSL_CA")
      assert.include(missing.message, "absent.pem")
    }))

  it.effect("never puts the value of MQ_USE_SSL_KEY in its error: a key without its PEM header stays out of the log", () =>
    Effect.gen(function*() {
      const headless = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
      const error = yield* Effect.flip(readConfig({ MQ_USE_SSL_KEY: headless }))
      assert.strictEqual(error.variable, "MQ_USE_SSL_KEY")
      assert.include(error.message, "neither PEM text")
      assert.notInclude(error.message, headless)
    }))
})

describe("AmqpConfig over TLS", () => {
  let broker: RabbitMqHandle

  beforeAll(async () => {
    broker = await startRabbitMq({ tls: true })
  })

  afterAll(async () => {
    await broker?.close()
  })

  const publishOver = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const target = yield* Effect.promise(() => declarePushQueue(broker, "over-tls"))
      const layer = Layer.unwrap(Effect.map(AmqpConfig, (config) =>
        AmqpPublisher.layer(resolveEndpoint({ ...fromPlatform, host: broker.host, pass: broker.pass }, config)))).pipe(
          Layer.provide(AmqpConfig.layer),
          Layer.provide(layerRecord({ MQ_USE_SSL: "true", MQ_PORT: String(broker.tls?.port), ...env }))
        )
      yield* Effect.flatMap(AmqpPublisher, (publisher) => publisher.publish(target.exchange, target.routingKey, new TextEncoder().encode("over tls"))).pipe(
        Effect.provide(layer)
      )
      return (yield* Effect.promise(() => takeMessages(broker, target.queue))).map((message) => message.content.toString("utf8"))
    })

  it.live("publishes over TLS, verifying the broker with MQ_USE_SSL_CA", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* publishOver({ MQ_USE_SSL_CA: broker.tls?.caFile ?? "", MQ_USE_SSL_REJECT_UNAUTHORIZED: "true" }), ["over tls"])
    }))

  it.live("does not verify the certificate unless MQ_USE_SSL_REJECT_UNAUTHORIZED is set, as pycti", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* publishOver({}), ["over tls"])
      const refused = yield* Effect.flip(publishOver({ MQ_USE_SSL_REJECT_UNAUTHORIZED: "true" }))
      assert.strictEqual(refused._tag, "AmqpError")
      assert.include(refused.message, "self-signed certificate")
    }))
})
