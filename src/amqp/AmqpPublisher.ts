import * as amqp from "amqplib"
import type { Options, SocketOptions } from "amqplib"
import { Context, Data, Deferred, Duration, Effect, Layer, Option, Predicate, Queue, Redacted, Schedule, Schema, Semaphore } from "effect"
import type { AmqpEndpoint } from "./AmqpEndpoint.js"

/** A failure to reach or publish to RabbitMQ: refused connection, closed channel, broker gone, NACKs exhausted. */
const AmqpOperation = Schema.Literals(["connect", "connection", "channel", "publish"])
type AmqpOperation = typeof AmqpOperation.Type

export class AmqpError extends Schema.TaggedError<AmqpError>()("AmqpError", {
  operation: AmqpOperation,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** How often and how patiently a message the broker refuses (NACK) is published again. */
export interface NackRetry {
  readonly retries: number
  readonly backoff: Duration.Input
}

const defaultNackRetry: NackRetry = { retries: 5, backoff: Duration.seconds(1) }

/** pycti's heartbeat: a silently dead connection is noticed within two intervals. */
const HEARTBEAT_SECONDS = 10
const CONNECT_TIMEOUT_MS = 30_000
const CLOSE_TIMEOUT = Duration.seconds(5)

/**
 * Persistent, as pycti publishes (`delivery_mode=2`, `content_encoding="utf-8"`), and `mandatory`: a
 * message no queue would receive comes back instead of being confirmed and dropped.
 */
const publishOptions: Options.Publish = { deliveryMode: 2, contentEncoding: "utf-8", mandatory: true }

/** What the broker said of the last message it returned (`basic.return`). */
interface Returned {
  readonly count: number
  readonly reason: string
}

class Nacked extends Data.TaggedError("Nacked")<{ readonly count: number }> {}

/** `basic.return` carries a reply code and text (312 NO_ROUTE), which amqplib's types leave out. */
const returnReason = (fields: object): string =>
  [Predicate.hasProperty(fields, "replyCode") ? String(fields.replyCode) : "", Predicate.hasProperty(fields, "replyText") ? String(fields.replyText) : ""].join(" ").trim()

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** The endpoint as logs and errors show it: no password. */
const describeEndpoint = (endpoint: AmqpEndpoint): string =>
  `${Option.isSome(endpoint.tls) ? "amqps" : "amqp"}://${endpoint.user}@${endpoint.host}:${endpoint.port}/${encodeURIComponent(endpoint.vhost)}`

/** `noDelay`: a publish goes out at once instead of waiting, under Nagle's algorithm, for the last confirm. */
const socketOptions = (endpoint: AmqpEndpoint): SocketOptions =>
  Option.match(endpoint.tls, {
    onNone: () => ({ timeout: CONNECT_TIMEOUT_MS, noDelay: true }),
    onSome: (tls) => ({
      timeout: CONNECT_TIMEOUT_MS,
      noDelay: true,
      ca: Option.getOrUndefined(tls.ca),
      cert: Option.getOrUndefined(tls.cert),
      key: Option.getOrUndefined(Option.map(tls.key, Redacted.value)),
      passphrase: Option.getOrUndefined(Option.map(tls.passphrase, Redacted.value)),
      rejectUnauthorized: tls.rejectUnauthorized
    })
  })

const closeQuietly = (close: () => Promise<void>): Effect.Effect<void> =>
  Effect.tryPromise(close).pipe(Effect.timeout(CLOSE_TIMEOUT), Effect.ignore)

/** Publishes to RabbitMQ over one connection and one confirm channel, held for the life of the layer. */
export class AmqpPublisher extends Context.Service<AmqpPublisher, {
  /**
   * Publishes a persistent message and waits for the broker's confirm. A NACK is retried a bounded
   * number of times; a message the broker returns as unroutable fails the publish at once; once the
   * connection or the channel is gone, this and every later publish fail.
   */
  readonly publish: (exchange: string, routingKey: string, body: Uint8Array) => Effect.Effect<void, AmqpError>
  /**
   * As `publish` for several messages: all are published in order before waiting for their confirms
   * (one round trip instead of one per message); the ones refused are published again, in order.
   */
  readonly publishAll: (exchange: string, routingKey: string, bodies: ReadonlyArray<Uint8Array>) => Effect.Effect<void, AmqpError>
}>()("opencti-connectors/amqp/AmqpPublisher") {
  static readonly layer = (endpoint: AmqpEndpoint, nackRetry: NackRetry = defaultNackRetry) =>
    Layer.effect(
      AmqpPublisher,
      Effect.gen(function*() {
        const target = describeEndpoint(endpoint)
        const lost = yield* Deferred.make<never, AmqpError>()
        let returned: Returned = { count: 0, reason: "" }
        const notices = yield* Queue.unbounded<Effect.Effect<void>>()
        // Called from amqplib's events: the first loss wins, and is logged once.
        const lose = (operation: AmqpOperation, message: string): void => {
          if (Deferred.doneUnsafe(lost, Effect.fail(new AmqpError({ operation, message })))) {
            Queue.offerUnsafe(notices, Effect.logWarning("Lost the RabbitMQ connection").pipe(Effect.annotateLogs({ reason: message })))
          }
        }
        // amqplib closes the channels before it reports why the connection closed (in the same call):
        // a bare "closed" gives way to that reason.
        const loseUnlessExplained = (operation: AmqpOperation, message: string): void => queueMicrotask(() => lose(operation, message))

        // Listeners go on in the same tick as the connection appears: an unhandled 'error' event would end the process.
        const connection = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              amqp.connect({
                protocol: Option.isSome(endpoint.tls) ? "amqps" : "amqp",
                hostname: endpoint.host,
                port: endpoint.port,
                vhost: endpoint.vhost,
                username: endpoint.user,
                password: Redacted.value(endpoint.pass),
                heartbeat: HEARTBEAT_SECONDS
              }, socketOptions(endpoint)).then((model) => {
                model.on("error", (error: Error) => lose("connection", `the connection to ${target} failed: ${error.message}`))
                model.on("close", (error?: Error) =>
                  error === undefined
                    ? loseUnlessExplained("connection", `the connection to ${target} closed`)
                    : lose("connection", `the connection to ${target} closed: ${error.message}`))
                model.on("blocked", (reason: string) => Queue.offerUnsafe(notices, Effect.logWarning("RabbitMQ blocks publishing").pipe(Effect.annotateLogs({ reason }))))
                model.on("unblocked", () => Queue.offerUnsafe(notices, Effect.logInfo("RabbitMQ accepts publishing again")))
                return model
              }),
            catch: (cause) => new AmqpError({ operation: "connect", message: `cannot connect to ${target}: ${messageOf(cause)}`, cause })
          }),
          (model) => closeQuietly(() => model.close())
        )
        const channel = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              connection.createConfirmChannel().then((opened) => {
                opened.on("return", (message: amqp.Message) => {
                  returned = { count: returned.count + 1, reason: returnReason(message.fields) }
                })
                opened.on("error", (error: Error) => lose("channel", `the channel to ${target} failed: ${error.message}`))
                opened.on("close", () => loseUnlessExplained("channel", `the channel to ${target} closed`))
                return opened
              }),
            catch: (cause) => new AmqpError({ operation: "channel", message: `cannot open a confirm channel on ${target}: ${messageOf(cause)}`, cause })
          }),
          (opened) => closeQuietly(() => opened.close())
        )
        yield* Effect.forkScoped(Effect.forever(Effect.flatten(Queue.take(notices))))
        // One batch in flight at a time: the returns counted while it waits for its confirms are its own
        // (the broker sends a message's return before its confirm).
        const inFlight = yield* Semaphore.make(1)
        yield* Effect.logInfo("Connected to RabbitMQ").pipe(Effect.annotateLogs({ endpoint: target }))

        /** Publishes in order and waits for every confirm; succeeds with the messages the broker refused. */
        const publishOnce = (exchange: string, routingKey: string, contents: ReadonlyArray<Buffer>) =>
          Effect.callback<ReadonlyArray<Buffer>, AmqpError>((resume) => {
            const refused = new Set<number>()
            let unconfirmed = contents.length
            const confirmed = (index: number, nacked: boolean): void => {
              if (nacked) refused.add(index)
              unconfirmed -= 1
              if (unconfirmed === 0) resume(Effect.succeed(contents.filter((_, each) => refused.has(each))))
            }
            for (const [index, content] of contents.entries()) {
              try {
                channel.publish(exchange, routingKey, content, publishOptions, (error: unknown) => {
                  if (error === null || error === undefined) confirmed(index, false)
                  // amqplib reports a NACK with this error; any other means the channel closed first.
                  else if (error instanceof Error && error.message === "message nacked") confirmed(index, true)
                  else {
                    loseUnlessExplained("publish", `a message to ${exchange} was not confirmed: ${messageOf(error)}`)
                    resume(Deferred.await(lost))
                  }
                })
              } catch (error) {
                // amqplib throws on a closed channel, whose loss is already recorded with its reason.
                resume(Deferred.isDoneUnsafe(lost)
                  ? Deferred.await(lost)
                  : Effect.fail(new AmqpError({ operation: "publish", message: `cannot publish to ${exchange} on ${target}: ${messageOf(error)}`, cause: error })))
                return
              }
            }
          })

        const publishAll = Effect.fn("AmqpPublisher.publishAll")(function*(exchange: string, routingKey: string, bodies: ReadonlyArray<Uint8Array>) {
          if (bodies.length === 0) return
          let pending: ReadonlyArray<Buffer> = bodies.map((body) => Buffer.from(body.buffer, body.byteOffset, body.byteLength))
          // A lost connection ends the wait even if amqplib never calls back.
          const attempt = Effect.suspend(() => {
            const returnedBefore = returned.count
            return Effect.raceFirst(publishOnce(exchange, routingKey, pending), Deferred.await(lost)).pipe(
              Effect.flatMap((refused) => {
                const unroutable = returned.count - returnedBefore
                return unroutable === 0
                  ? Effect.succeed(refused)
                  : Effect.fail(new AmqpError({
                    operation: "publish",
                    message: `RabbitMQ returned ${unroutable} message(s) to ${exchange} with routing key ${routingKey} as unroutable (${returned.reason}): no queue is bound to receive them`
                  }))
              })
            )
          }).pipe(
            Effect.flatMap((refused) => {
              if (refused.length === 0) return Effect.void
              pending = refused
              return Effect.fail(new Nacked({ count: refused.length }))
            })
          )
          yield* attempt.pipe(
            Effect.tapError((error) =>
              error._tag === "Nacked" ? Effect.logWarning("RabbitMQ refused messages (NACK), publishing them again").pipe(Effect.annotateLogs({ refused: error.count })) : Effect.void
            ),
            Effect.retry({ while: (error) => error._tag === "Nacked", times: nackRetry.retries, schedule: Schedule.exponential(nackRetry.backoff) }),
            Effect.catchTag("Nacked", (error) =>
              Effect.fail(new AmqpError({ operation: "publish", message: `RabbitMQ still refused ${error.count} message(s) to ${exchange} after ${nackRetry.retries + 1} attempts (NACK)` }))),
            inFlight.withPermit
          )
        }, (effect, exchange, routingKey) => Effect.annotateLogs(effect, { exchange, routingKey }))

        return AmqpPublisher.of({ publish: (exchange, routingKey, body) => publishAll(exchange, routingKey, [body]), publishAll })
      })
    )
}
