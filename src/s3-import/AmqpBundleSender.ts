import { Effect, Layer } from "effect"
import { AmqpPublisher } from "../amqp/AmqpPublisher.js"
import * as RegisteredPublisher from "../connector/RegisteredPublisher.js"
import { Connector } from "../connector/Connector.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { bundleObjects } from "../stix/Bundle.js"
import type { StixBundle } from "../stix/Bundle.js"
import { splitBundle } from "../stix/BundleSplitter.js"
import { randomUuid } from "../stix/randomUuid.js"
import { BundleSender, SendError } from "./BundleSender.js"
import { S3ImportConfig } from "./S3ImportConfig.js"

interface QueueMessageFields {
  readonly applicantId: string | null
  readonly actionSequence: number
  readonly workId: string
  /** The worker imports the bundle as it is, in one go, instead of splitting it again. */
  readonly noSplit: boolean
}

/** The body pycti's `_send_bundle` publishes, in its key order; `no_split` only when the bundle goes whole. */
const queueMessage = (bundle: unknown, fields: QueueMessageFields): Uint8Array =>
  Buffer.from(JSON.stringify({
    bundle_type: "QUEUE_BUNDLE",
    applicant_id: fields.applicantId,
    action_sequence: fields.actionSequence,
    entities_types: [],
    content: Buffer.from(JSON.stringify(bundle), "utf8").toString("base64"),
    update: false,
    draft_id: null,
    work_id: fields.workId,
    ...(fields.noSplit ? { no_split: true } : {})
  }), "utf8")

/** What one bundle becomes on the queue: the messages in publishing order and the work's expectations. */
interface Delivery {
  readonly messages: ReadonlyArray<Uint8Array>
  readonly expectations: number
}

const make = Effect.gen(function*() {
  const registration = yield* Connector
  const openCti = yield* OpenCti
  const publisher = yield* AmqpPublisher
  const config = yield* S3ImportConfig
  const limit = config.maxMessageBytes

  const overLimit = (what: string, size: number, advice: string) =>
    new SendError({ message: `${what} makes a ${size}-byte queue message, over the limit of ${limit} bytes (S3_MAX_MESSAGE_BYTES); ${advice}` })

  const whole = (bundle: StixBundle, workId: string): Effect.Effect<Delivery, SendError> => {
    const message = queueMessage(bundle, { applicantId: registration.applicantId, actionSequence: 1, workId, noSplit: true })
    return message.byteLength > limit
      ? Effect.fail(overLimit("The bundle", message.byteLength, "set S3_NO_SPLIT_BUNDLES=false to publish it one object per message"))
      : Effect.succeed({ messages: [message], expectations: bundleObjects(bundle).length })
  }

  const split = Effect.fnUntraced(function*(bundle: StixBundle, workId: string) {
    const bundleId = bundle.id ?? `bundle--${yield* randomUuid}`
    const { bundles, expectations } = splitBundle(bundleId, bundleObjects(bundle))
    if (bundles.length === 0) return yield* new SendError({ message: "Nothing to import: no object of the bundle has a type the platform imports" })
    const messages = bundles.map((each, index) =>
      queueMessage(each, { applicantId: registration.applicantId, actionSequence: index + 1, workId, noSplit: false }))
    const index = messages.findIndex((message) => message.byteLength > limit)
    if (index !== -1) return yield* overLimit(`The object ${bundles[index]!.objects[0].id}`, messages[index]!.byteLength, "it cannot be split further")
    return { messages, expectations } satisfies Delivery
  })

  const send = Effect.fn("AmqpBundleSender.send")(function*(bundle: StixBundle, workId: string) {
    // Every message is built and measured first: RabbitMQ closes the channel on an oversized one.
    const delivery = yield* (config.noSplitBundles ? whole(bundle, workId) : split(bundle, workId))
    // Expectations first, so that no worker completes the work before they are counted.
    yield* openCti.workAddExpectations(workId, delivery.expectations).pipe(
      Effect.mapError((error) => new SendError({ message: `addExpectations: ${error.message}`, cause: error }))
    )
    yield* publisher.publishAll(registration.pushExchange, registration.pushRouting, delivery.messages).pipe(
      Effect.mapError((error) => new SendError({ message: `RabbitMQ ${error.operation}: ${error.message}`, cause: error }))
    )
    yield* Effect.logDebug("Bundle published").pipe(Effect.annotateLogs({ messages: delivery.messages.length, expectations: delivery.expectations }))
  })

  return BundleSender.of({ send })
})

/** `CONNECTOR_QUEUE_PROTOCOL=amqp`: bundles go to the connector's push queue on RabbitMQ, as pycti sends them. */
export const layer = Layer.effect(BundleSender, make).pipe(Layer.provide(RegisteredPublisher.layer))
