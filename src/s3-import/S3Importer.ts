import { Context, Effect, Exit, Layer, Metric, Option, Result, Schedule, Semaphore, Stream } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { drainOnInterrupt, isFailure } from "../connector/drain.js"
import { OpenCti } from "../opencti/OpenCti.js"
import * as HelperMetrics from "../ops/HelperMetrics.js"
import { Progress } from "../ops/Progress.js"
import { parseBundle } from "../stix/Bundle.js"
import { StateStore } from "../state/StateStore.js"
import { ObjectStorage } from "../storage/ObjectStorage.js"
import type { FetchedObject, ObjectInfo, ObjectVersion } from "../storage/ObjectStorage.js"
import { BundleSender } from "./BundleSender.js"
import { BundleTransform } from "./BundleTransform.js"
import * as HighWaterMark from "./HighWaterMark.js"
import * as ImportMetrics from "./ImportMetrics.js"
import { importError, inInputPhase, inPhase } from "./ImportError.js"
import type { ImportError, ImportLocation } from "./ImportError.js"
import { makePrefixWork } from "./PrefixWork.js"
import type { PrefixWork } from "./PrefixWork.js"
import { quarantine } from "./Quarantine.js"
import { prefixFolder, S3ImportConfig } from "./S3ImportConfig.js"

/** Objects fetched ahead of the one being sent; nothing is deleted before its own send is confirmed. */
const prefetch = 4

/** Deletes in flight behind the sends (marks, kept in order, go one at a time). */
const deletesInFlight = 4

/** A file after its send: imported (sent, or nothing to send), or refused by its parse or transform, for the quarantine. */
type Processed =
  | { readonly _tag: "Imported"; readonly object: ObjectInfo; readonly version: ObjectVersion }
  | { readonly _tag: "Refused"; readonly object: ObjectInfo; readonly version: ObjectVersion; readonly body: Uint8Array; readonly error: ImportError }

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

      /** The bundle to send from the bytes of a file; none when no object is left. Failures are the file's own. */
      const prepare = (location: Required<ImportLocation>, fetched: FetchedObject) =>
        parseBundle(fetched.body).pipe(
          inInputPhase("parse", location),
          Effect.flatMap((bundle) => transform.apply(bundle, { key: location.key, bytes: fetched.body }).pipe(inInputPhase("transform", location)))
        )

      /** Parses, transforms and sends one file (nothing when no object is left); with a quarantine, a file that cannot be read is refused instead. */
      const sendObject = Effect.fn("S3Importer.sendObject")(function*(prefix: string, object: ObjectInfo, fetched: FetchedObject, work: PrefixWork) {
        const location = { bucket, prefix, key: object.key }
        const prepared = yield* Effect.result(prepare(location, fetched))
        if (Result.isFailure(prepared)) {
          if (Option.isNone(config.quarantineFolder)) return yield* Effect.fail(prepared.failure)
          return { _tag: "Refused", object, version: fetched.version, body: fetched.body, error: prepared.failure } satisfies Processed
        }
        if (Option.isSome(prepared.success)) {
          const workId = yield* work.id
          yield* sender.send(prepared.success.value, workId).pipe(inPhase("send", location))
          yield* Metric.update(ImportMetrics.bundlesSent, 1)
          yield* progress.advance
        }
        return { _tag: "Imported", object, version: fetched.version } satisfies Processed
      }, (effect, prefix, object) => Effect.annotateLogs(effect, { prefix, key: object.key }))

      /** Deletes the version of the file that was read, and no other: a file rewritten since stays for the next cycle. */
      const deleteRead = (location: Required<ImportLocation>, version: ObjectVersion) =>
        storage.deleteVersion(bucket, location.key, version).pipe(
          Effect.flatMap((outcome) => {
            switch (outcome) {
              case "changed":
                return Effect.logWarning("File changed since it was read; it stays for the next cycle")
              case "gone":
                return Effect.logWarning("File already gone before its delete")
              case "deleted":
                return Metric.update(ImportMetrics.filesDeleted, 1)
            }
          }),
          inPhase("delete", location)
        )

      /** After the send: the delete, or the high-water mark when files are kept; a refused file is quarantined first. Never interrupted halfway. */
      const finishObject = Effect.fn("S3Importer.finishObject")(function*(prefix: string, processed: Processed, work: PrefixWork) {
        const { object } = processed
        const location = { bucket, prefix, key: object.key }
        if (processed._tag === "Refused" && Option.isSome(config.quarantineFolder)) {
          yield* quarantine(storage, { bucket, folder: config.quarantineFolder.value, connectorId: openCtiConfig.connectorId }, { key: object.key, body: processed.body, prefix }, processed.error)
        }
        if (config.deleteAfterImport) {
          yield* deleteRead(location, processed.version)
        } else {
          const current = yield* state.get
          const mark = HighWaterMark.advance(HighWaterMark.readMark(current, bucket, prefix), object)
          yield* state.set(HighWaterMark.writeMark(current, bucket, prefix, mark)).pipe(inPhase("state", location))
        }
        if (processed._tag === "Imported") {
          yield* work.fileImported
          yield* Metric.update(ImportMetrics.filesImported, 1)
          yield* Effect.logDebug("File imported")
        } else {
          yield* Metric.update(ImportMetrics.filesQuarantined, 1)
        }
        yield* progress.advance
      }, Effect.uninterruptible, (effect, prefix, processed) => Effect.annotateLogs(effect, { prefix, key: processed.object.key }))

      /** The objects to import under `prefix`, in the order they must be imported. */
      const pending = (prefix: string): Stream.Stream<ObjectInfo, ImportError> => {
        const listed = storage.list(bucket, prefixFolder(prefix)).pipe(
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
        // The files fetched ahead hold at most S3_FETCH_AHEAD_BYTES together: room is taken in listing order
        // (so a large file waits for room instead of being overtaken) and given back once the file is sent,
        // or, for a refused file, whose body the quarantine still needs, once it is finished.
        // A file larger than the whole room takes all of it: it is fetched alone.
        const window = yield* Semaphore.make(config.fetchAheadBytes)
        const room = (object: ObjectInfo) => Math.min(object.size, config.fetchAheadBytes)
        yield* drainOnInterrupt((stop) => pending(prefix).pipe(
          Stream.interruptWhen(stop),
          Stream.mapEffect((object) =>
            object.size > config.maxFileBytes
              ? Effect.fail(importError("fetch", { bucket, prefix, key: object.key }, {
                message: `the file is ${object.size} bytes, over the limit of ${config.maxFileBytes} bytes (S3_MAX_FILE_BYTES); it was not read`
              }))
              : Effect.as(window.take(room(object)), object)),
          Stream.mapEffect((object) =>
            storage.fetch(bucket, object.key, config.maxFileBytes).pipe(
              inPhase("fetch", { bucket, prefix, key: object.key }),
              Effect.tap((fetched) => Effect.andThen(Metric.update(ImportMetrics.bytesRead, fetched.body.byteLength), progress.advance)),
              Effect.map((fetched) => [object, fetched] as const)
            ), { concurrency: prefetch }),
          Stream.mapEffect(([object, fetched]) =>
            sendObject(prefix, object, fetched, work).pipe(
              Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value._tag === "Refused" ? Effect.void : window.release(room(object))))
            )),
          Stream.result,
          Stream.mapEffect(Result.match({
            onSuccess: (processed) =>
              Effect.result(finishObject(prefix, processed, work).pipe(
                Effect.ensuring(processed._tag === "Refused" ? window.release(room(processed.object)) : Effect.void)
              )),
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
        progress.active,
        HelperMetrics.asRun
      )

      return S3Importer.of({
        cycle,
        run: openCtiConfig.runAndTerminate ? cycle : Effect.repeat(cycle, Schedule.spaced(config.interval)).pipe(Effect.asVoid)
      })
    })
  )
}
