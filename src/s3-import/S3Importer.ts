import { Context, Effect, Layer, Metric, Option, Result, Schedule, Stream } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { drainOnInterrupt, isFailure } from "../connector/drain.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { Progress } from "../ops/Progress.js"
import { parseBundle } from "../stix/Bundle.js"
import { StateStore } from "../state/StateStore.js"
import { ObjectStorage } from "../storage/ObjectStorage.js"
import type { ObjectInfo } from "../storage/ObjectStorage.js"
import { BundleSender } from "./BundleSender.js"
import { BundleTransform } from "./BundleTransform.js"
import * as HighWaterMark from "./HighWaterMark.js"
import * as ImportMetrics from "./ImportMetrics.js"
import { importError, inPhase } from "./ImportError.js"
import type { ImportError } from "./ImportError.js"
import { makePrefixWork } from "./PrefixWork.js"
import type { PrefixWork } from "./PrefixWork.js"
import { S3ImportConfig } from "./S3ImportConfig.js"

/** Objects fetched ahead of the one being sent; nothing is deleted before its own send is confirmed. */
const prefetch = 4

/** Deletes in flight behind the sends (marks, kept in order, go one at a time). */
const deletesInFlight = 4

const isFolderMarker = (object: ObjectInfo): boolean => object.key.endsWith("/")

/** The S3 import: each cycle imports every prefix in order and stops at the first error. */
export class S3Importer extends Context.Service<S3Importer, {
  /** One pass over every prefix. */
  readonly cycle: Effect.Effect<void, ImportError>
  /** Cycles every S3_INTERVAL until one fails; a single pass when CONNECTOR_RUN_AND_TERMINATE is set. */
  readonly run: Effect.Effect<void, ImportError>
}>()("opencti-connectors/s3-import/S3Importer") {
  static readonly layer = Layer.effect(
    S3Importer,
    Effect.gen(function*() {
      const config = yield* S3ImportConfig
      const openCtiConfig = yield* OpenCtiConfig
      const storage = yield* ObjectStorage
      const transform = yield* BundleTransform
      const sender = yield* BundleSender
      const state = yield* StateStore
      const bucket = config.bucket
      const openCti = yield* OpenCti
      const progress = yield* Progress
      const finishConcurrency = config.deleteAfterImport ? deletesInFlight : 1

      /** Parses, transforms and sends one file (nothing when no object is left); gives the file back for its finish. */
      const sendObject = Effect.fn("S3Importer.sendObject")(function*(prefix: string, object: ObjectInfo, bytes: Uint8Array, work: PrefixWork) {
        const location = { bucket, prefix, key: object.key }
        const bundle = yield* parseBundle(bytes).pipe(inPhase("parse", location))
        const toSend = yield* transform.apply(bundle, { key: object.key, bytes }).pipe(inPhase("transform", location))
        if (Option.isNone(toSend)) return object
        const workId = yield* work.id
        yield* sender.send(toSend.value, workId).pipe(inPhase("send", location))
        yield* Metric.update(ImportMetrics.bundlesSent, 1)
        yield* progress.advance
        return object
      }, (effect, prefix, object) => Effect.annotateLogs(effect, { prefix, key: object.key }))

      /** After the send: the delete, or the high-water mark when files are kept. Never interrupted halfway. */
      const finishObject = Effect.fn("S3Importer.finishObject")(function*(prefix: string, object: ObjectInfo, work: PrefixWork) {
        const location = { bucket, prefix, key: object.key }
        if (config.deleteAfterImport) {
          yield* storage.delete(bucket, object.key).pipe(inPhase("delete", location))
          yield* Metric.update(ImportMetrics.filesDeleted, 1)
        } else {
          const current = yield* state.get
          const mark = HighWaterMark.advance(HighWaterMark.readMark(current, bucket, prefix), object)
          yield* state.set(HighWaterMark.writeMark(current, bucket, prefix, mark)).pipe(inPhase("state", location))
        }
        yield* work.fileImported
        yield* Metric.update(ImportMetrics.filesImported, 1)
        yield* progress.advance
        yield* Effect.logDebug("File imported")
      }, Effect.uninterruptible, (effect, prefix, object) => Effect.annotateLogs(effect, { prefix, key: object.key }))

      /** The objects to import under `prefix`, in the order they must be imported. */
      const pending = (prefix: string): Stream.Stream<ObjectInfo, ImportError> => {
        const listed = storage.list(bucket, prefix).pipe(
          Stream.filter((object) => !isFolderMarker(object)),
          Stream.tap(() => Effect.andThen(Metric.update(ImportMetrics.filesListed, 1), progress.advance)),
          Stream.mapError((error) => importError("list", { bucket, prefix }, error))
        )
        if (config.deleteAfterImport) return listed
        return Stream.unwrap(Effect.gen(function*() {
          const mark = HighWaterMark.readMark(yield* state.get, bucket, prefix)
          const objects = yield* Stream.runCollect(listed)
          return Stream.fromIterable(objects.filter((object) => !HighWaterMark.isImported(mark, object)).sort(HighWaterMark.byModification))
        }))
      }

      const importPrefix = Effect.fn("S3Importer.importPrefix")(function*(prefix: string) {
        const work = yield* makePrefixWork(openCti, bucket, prefix)
        // Fetches run ahead, sends go one at a time in order, and the delete of a file overlaps the
        // send of the next ones. A failure travels down as the last element, so every file sent before
        // it is still deleted before the cycle stops.
        // A shutdown stops the listing, then waits until every file already fetched is sent and deleted.
        yield* drainOnInterrupt((stop) => pending(prefix).pipe(
          Stream.interruptWhen(stop),
          Stream.mapEffect((object) =>
            storage.get(bucket, object.key).pipe(
              inPhase("fetch", { bucket, prefix, key: object.key }),
              Effect.tap((bytes) => Effect.andThen(Metric.update(ImportMetrics.bytesRead, bytes.byteLength), progress.advance)),
              Effect.map((bytes) => [object, bytes] as const)
            ), { concurrency: prefetch }),
          Stream.mapEffect(([object, bytes]) => sendObject(prefix, object, bytes, work)),
          Stream.result,
          Stream.mapEffect(Result.match({
            onSuccess: (object) => Effect.result(finishObject(prefix, object, work)),
            onFailure: (error) => Effect.succeed(Result.fail(error))
          }), { concurrency: finishConcurrency }),
          Stream.runForEach(Result.match({ onSuccess: () => Effect.void, onFailure: Effect.fail }))
        ), (exit) =>
          isFailure(exit)
            ? Effect.logError("Files held at stop could not all be imported; they stay in the bucket", exit.cause).pipe(Effect.andThen(work.end(exit.cause)))
            : Effect.void)
        const count = yield* work.complete
        yield* Effect.logInfo("Prefix processed").pipe(Effect.annotateLogs({ files: count }))
      }, (effect, prefix) => Effect.annotateLogs(Effect.scoped(effect), { bucket, prefix }))

      // A cycle is work in progress; the wait between cycles is not.
      const cycle = Metric.update(ImportMetrics.cycles, 1).pipe(
        Effect.andThen(Effect.forEach(config.prefixes, importPrefix, { discard: true })),
        Effect.tapError(() => Metric.update(ImportMetrics.errors, 1)),
        progress.active
      )

      return S3Importer.of({
        cycle,
        run: openCtiConfig.runAndTerminate ? cycle : Effect.repeat(cycle, Schedule.spaced(config.interval)).pipe(Effect.asVoid)
      })
    })
  )
}
