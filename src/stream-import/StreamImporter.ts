import { Context, Effect, Layer, Metric, Option, Result, Schedule, Stream } from "effect"
import { AmqpPublisher } from "../amqp/AmqpPublisher.js"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { Connector } from "../connector/Connector.js"
import { OpenCti } from "../opencti/OpenCti.js"
import * as HelperMetrics from "../ops/HelperMetrics.js"
import { StateStore } from "../state/StateStore.js"
import { ObjectStorage } from "../storage/ObjectStorage.js"
import { makeImportMetrics } from "./ImportMetrics.js"
import { planImport } from "./ImportOrder.js"
import type { ExportObject } from "./ImportOrder.js"
import * as ImportProgress from "./ImportProgress.js"
import { makeImportWork } from "./ImportWork.js"
import type { ImportWork } from "./ImportWork.js"
import { eventMessage, messageBytes, parseLine, splitLines } from "./NdjsonLines.js"
import type { EventMessageFields, Line } from "./NdjsonLines.js"
import { StreamImportConfig } from "./StreamImportConfig.js"
import { inPhase, phaseError, StreamImportError } from "./StreamImportError.js"

/** Bytes of messages published before waiting for their confirms, whatever the window's count. */
const windowBytes = 16 * 1024 * 1024

/** Messages published together, then confirmed, then recorded as the object's position. */
interface Window {
  readonly messages: Array<Uint8Array>
  readonly bytes: number
  readonly lastLine: number
}

const emptyWindow = (): Window => ({ messages: [], bytes: 0, lastLine: 0 })

/** The stream importer: each cycle imports the exporter's objects in number order and moves each one to done. */
export class StreamImporter extends Context.Service<StreamImporter, {
  /** One pass over the source folder. */
  readonly cycle: Effect.Effect<void, StreamImportError>
  /** Cycles every CONNECTOR_RUN_EVERY until one fails; a single pass with CONNECTOR_RUN_AND_TERMINATE. */
  readonly run: Effect.Effect<void, StreamImportError>
}>()("opencti-connectors/stream-import/StreamImporter") {
  static readonly layer = Layer.effect(
    StreamImporter,
    Effect.gen(function*() {
      const config = yield* StreamImportConfig
      const openCtiConfig = yield* OpenCtiConfig
      const registration = yield* Connector
      const openCti = yield* OpenCti
      const storage = yield* ObjectStorage
      const publisher = yield* AmqpPublisher
      const state = yield* StateStore
      const metrics = makeImportMetrics(config.metricsPrefix, openCtiConfig.connectorName)
      const { source, done } = config
      const fields: EventMessageFields = { perfectSync: config.perfectSync, applicantId: registration.applicantId }

      const save = (progress: ImportProgress.ImportProgress, key: string) =>
        Effect.flatMap(state.get, (current) => state.set(ImportProgress.toState(current, progress))).pipe(inPhase("state", key))

      const lines = (key: string) => splitLines(storage.getStream(source.bucket, key).pipe(Stream.mapError((error) => phaseError("read", key, error))))

      const invalidLine = (key: string, line: Line, reason: string) =>
        new StreamImportError({ phase: "validate", key, line: line.number, message: `${key}, line ${line.number}: ${reason}; nothing of this object is published` })

      /** The first pass: every line must be publishable before the first one is. */
      const validate = Effect.fn("StreamImporter.validate")(function*(key: string) {
        return yield* lines(key).pipe(
          Stream.runFoldEffect(() => 0, (events, line) => {
            const parsed = parseLine(line)
            if (parsed._tag === "Blank") return Effect.succeed(events)
            if (parsed._tag === "Invalid") return Effect.fail(invalidLine(key, line, `${parsed.reason}`))
            const size = messageBytes(line, parsed.event, fields)
            return size > config.maxMessageBytes
              ? Effect.fail(invalidLine(key, line, `its message would be ${size} bytes, over IMPORT_MAX_MESSAGE_BYTES (${config.maxMessageBytes}); raise it together with RabbitMQ's max_message_size`))
              : Effect.succeed(events + 1)
          })
        )
      })

      /** Publishes a window, waits for its confirms, and saves the position after its last line. Never cut halfway. */
      const publishWindow = (object: ExportObject, work: ImportWork, progress: ImportProgress.ImportProgress, window: Window) =>
        Effect.gen(function*() {
          yield* publisher.publishAll(registration.pushExchange, registration.pushRouting, window.messages).pipe(
            Effect.tapError(() => Metric.update(metrics.sentErrors, window.messages.length)),
            inPhase("publish", object.key)
          )
          yield* Metric.update(metrics.sentMessages, window.messages.length)
          yield* work.messagesSent(window.messages.length)
          const next = { ...progress, inProgress: Option.some({ fileNumber: object.fileNumber, key: object.key, confirmedLine: window.lastLine }) }
          yield* save(next, object.key)
          return next
        }).pipe(Effect.uninterruptible)

      /** The second pass: the lines after the last confirmed one, in windows. */
      const publish = (object: ExportObject, work: ImportWork, progress: ImportProgress.ImportProgress, after: number) =>
        lines(object.key).pipe(
          Stream.filter((line) => line.number > after),
          Stream.filterMap((line) => {
            const parsed = parseLine(line)
            // Checked in the first pass: only blank lines are left out here.
            return parsed._tag === "Event" ? Result.succeed({ line: line.number, message: eventMessage(line, parsed.event, fields) }) : Result.failVoid
          }),
          // The window being filled is this accumulator's own: appending to it in place is safe.
          Stream.mapAccum(emptyWindow, (window, { line, message }) => {
            window.messages.push(message)
            const next = { messages: window.messages, bytes: window.bytes + message.byteLength, lastLine: line }
            return next.messages.length >= config.confirmWindow || next.bytes >= windowBytes ? [emptyWindow(), [next]] as const : [next, []] as const
          }, { onHalt: (window) => (window.messages.length === 0 ? [] : [window]) }),
          Stream.runFoldEffect(() => progress, (current, window) => publishWindow(object, work, current, window))
        )

      /** Copies the object to done, then deletes it from the source. */
      const move = (key: string) =>
        storage.copy(source.bucket, key, done.bucket, `${done.prefix}${key}`).pipe(
          Effect.andThen(storage.delete(source.bucket, key)),
          inPhase("move", key)
        )

      const importObject = Effect.fn("StreamImporter.importObject")(function*(object: ExportObject, work: ImportWork, progress: ImportProgress.ImportProgress) {
        const events = yield* validate(object.key)
        yield* Metric.update(metrics.readFiles, 1)
        const after = ImportProgress.resumeAfter(progress, object.fileNumber, object.key)
        if (after > 0) yield* Effect.logInfo("Resuming the object after its last confirmed line").pipe(Effect.annotateLogs({ line: after }))
        else if (Option.exists(progress.inProgress, (file) => file.fileNumber === object.fileNumber)) {
          // Its position belongs to another object of the same number: nothing of this one is known to be sent.
          yield* Effect.logWarning("The object under way was replaced by another of the same number: importing it from its first line").pipe(
            Effect.annotateLogs({ previous_key: Option.getOrUndefined(Option.map(progress.inProgress, (file) => file.key)) })
          )
        }
        yield* publish(object, work, progress, after)
        const imported: ImportProgress.ImportProgress = { fileCount: object.fileNumber, inProgress: Option.none() }
        // Once every line is confirmed, the object counts as imported before it is moved.
        yield* Effect.uninterruptible(save(imported, object.key).pipe(Effect.andThen(move(object.key))))
        yield* work.fileImported
        yield* Effect.logInfo("Object imported").pipe(Effect.annotateLogs({ events }))
        return imported
      }, (effect, object) => Effect.annotateLogs(effect, { key: object.key, file_number: object.fileNumber }))

      const moveImported = Effect.fn("StreamImporter.moveImported")(function*(object: ExportObject, work: ImportWork) {
        yield* move(object.key)
        yield* Metric.update(metrics.filesAlreadyProcessed, 1)
        yield* work.fileMoved
        yield* Effect.logInfo("Object imported earlier moved to done without sending it again")
      }, (effect, object) => Effect.annotateLogs(effect, { key: object.key, file_number: object.fileNumber }))

      const cycle = Effect.scoped(Effect.gen(function*() {
        const progress = yield* ImportProgress.fromState(yield* state.get)
        const listed = yield* Stream.runCollect(storage.list(source.bucket, source.prefix)).pipe(inPhase("list", `${source.bucket}/${source.prefix}`))
        const plan = planImport(source.prefix, progress.fileCount, listed.map((object) => object.key), config.unknownKeys)
        if (Result.isSuccess(plan) && plan.success.imported.length === 0 && plan.success.pending.length === 0) return
        // A cycle with something to do has its work on the platform, where a stop shows in error.
        const work = yield* makeImportWork(openCti)
        if (Result.isFailure(plan)) {
          return yield* new StreamImportError({ phase: "order", key: `${source.bucket}/${source.prefix}`, message: `${plan.failure}; nothing was moved or published` })
        }
        yield* Effect.forEach(plan.success.imported, (object) => moveImported(object, work), { discard: true })
        yield* Effect.reduce(plan.success.pending, () => progress, (current, object) => importObject(object, work, current))
        yield* work.complete
      })).pipe(HelperMetrics.asRun)

      // The importer may start before the exporter's first write, or before the first transfer: both places are made ready.
      const start = Effect.forEach([source.bucket, done.bucket], (bucket) => storage.ensureBucket(bucket).pipe(inPhase("bucket", bucket)), { discard: true }).pipe(
        Effect.andThen(Metric.update(metrics.up, 1))
      )
      const cycles = openCtiConfig.runAndTerminate ? cycle : Effect.asVoid(Effect.repeat(cycle, Schedule.spaced(config.runEvery)))
      return StreamImporter.of({ cycle, run: Effect.andThen(start, cycles) })
    })
  )
}
