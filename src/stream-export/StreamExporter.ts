import { Context, Effect, Layer, Option, Ref, Stream } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { drainOnInterrupt, isFailure } from "../connector/drain.js"
import { LiveStream } from "../opencti/LiveStream.js"
import type { LiveEvent, LiveStreamError } from "../opencti/LiveStream.js"
import { compare } from "../opencti/LiveStreamId.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { Progress } from "../ops/Progress.js"
import { StateStore, StateStoreReset } from "../state/StateStore.js"
import { ObjectStorage } from "../storage/ObjectStorage.js"
import { BatchBuffers, batched, wholeBatch } from "./Batching.js"
import type { Batch } from "./Batching.js"
import { makeBatchWriter } from "./BatchWriter.js"
import { makeCommitter } from "./Committer.js"
import { makeEnricher } from "./Enricher.js"
import { objectDigest } from "./EventTrail.js"
import * as ExportCursor from "./ExportCursor.js"
import type { ExportLine } from "./ExportLine.js"
import { makeExportMetrics } from "./ExportMetrics.js"
import { startCursor } from "./ExportStart.js"
import { StreamExportConfig } from "./StreamExportConfig.js"
import type { StreamExportError } from "./StreamExportError.js"

/** The stream exporter: live stream → enriched lines → batches → one object per batch, decided before its write, committed after it. */
export class StreamExporter extends Context.Service<StreamExporter, {
  /**
   * Exports until the live stream, a write or a commit fails. Interrupted (SIGTERM), it stops reading
   * the stream and writes and commits the events it holds before it returns. A reset of the state on
   * the platform starts the export over from the configured first start.
   */
  readonly run: Effect.Effect<void, StreamExportError | LiveStreamError>
}>()("opencti-connectors/stream-export/StreamExporter") {
  static readonly layer = Layer.effect(
    StreamExporter,
    Effect.gen(function*() {
      const config = yield* StreamExportConfig
      const openCtiConfig = yield* OpenCtiConfig
      const storage = yield* ObjectStorage
      const state = yield* StateStore
      const liveStream = yield* LiveStream
      const progress = yield* Progress
      const metrics = makeExportMetrics(openCtiConfig.connectorName)
      const enrich = makeEnricher(yield* OpenCti, { concurrency: config.consumerCount, maxFileBytes: config.maxFileBytes })
      const writer = makeBatchWriter(storage, config, metrics)
      const commit = makeCommitter(state, metrics)
      // One batch fills while the one before waits and the one before that is written.
      const buffers = new BatchBuffers(3)

      /**
       * The lines of the events after `cursor`, each event once: the platform sends the last run of
       * equal ids again on every connection (a reconnect, a restart), and the members of that run
       * already written, or already on their way to an object, are recognised and dropped.
       */
      const linesAfter = (cursor: ExportCursor.ExportCursor, events: Stream.Stream<LiveEvent, LiveStreamError>) =>
        Stream.suspend(() => {
          const followed = ExportCursor.trailOf(cursor)
          return events.pipe(
            // Waiting for events is idle (the watchdog bounds it); enriching and writing are work in progress.
            Stream.mapArrayEffect((events) => progress.active(enrich(events))),
            Stream.filter((line) => followed.add(line.id, line.object)),
            Stream.mapArrayEffect((lines) => Effect.as(metrics.processed(lines), lines))
          )
        })

      /** Writes the object `pending` decides and commits it; the intent is already saved. */
      const writePending = Effect.fn("StreamExporter.writePending")(function*(
        cursor: ExportCursor.ExportCursor,
        pending: ExportCursor.PendingObject,
        batch: Batch,
        lineage: Lineage
      ) {
        yield* writer.write(pending.key, batch)
        yield* Ref.set(lineage.written, pending.fileNumber)
        const next = ExportCursor.afterPending(cursor, pending)
        yield* commit(lineage.resets, next)
        return next
      }, progress.active)

      const writeBatch = (lineage: Lineage) =>
        Effect.fn("StreamExporter.writeBatch")(function*(cursor: ExportCursor.ExportCursor, batch: Batch) {
          const fileNumber = cursor.fileCount + 1
          const pending = { fileNumber, key: yield* writer.keyOf(fileNumber), bytes: batch.body.byteLength, written: ExportCursor.written(cursor, batch.trail) }
          // The object is decided (saved) before its write, and once written its commit must follow, whatever interrupts.
          const next = yield* Effect.uninterruptible(
            commit(lineage.resets, ExportCursor.withPending(cursor, pending)).pipe(Effect.andThen(writePending(cursor, pending, batch, lineage)))
          )
          yield* Effect.logInfo("Batch written").pipe(
            Effect.annotateLogs({ key: pending.key, events: batch.events, bytes: batch.body.byteLength, last_written_msg_id: batch.trail.last })
          )
          buffers.giveBack(batch)
          return next
        }, progress.active)

      /**
       * Writes again a pending object that is not in the folder whole (moved away, never written, or cut short):
       * the same key, holding the same events, those after the committed cursor through the pending
       * object's last event. Events of that last id that the object did not hold go to the next one.
       */
      const rewrite = Effect.fn("StreamExporter.rewrite")(function*(cursor: ExportCursor.ExportCursor, pending: ExportCursor.PendingObject, lineage: Lineage) {
        const last = Option.getOrUndefined(pending.written.lastWrittenMsgId)
        const committedRun = Option.getOrUndefined(cursor.lastWrittenMsgId) === last ? new Set(cursor.lastWrittenObjects) : new Set<string>()
        const missing = new Set(pending.written.lastWrittenObjects.filter((digest) => !committedRun.has(digest)))
        const inObject = (line: ExportLine) => line.id !== last || missing.has(objectDigest(line.object))
        const complete = (line: ExportLine) => line.id === last && missing.delete(objectDigest(line.object)) && missing.size === 0
        const lines = last === undefined || missing.size === 0
          ? Stream.empty
          : linesAfter(cursor, liveStream.open(ExportCursor.position(cursor))).pipe(
            Stream.takeWhile((line) => compare(line.id, last) <= 0),
            Stream.filter(inObject),
            Stream.takeUntil(complete)
          )
        const batch = yield* wholeBatch(lines, buffers)
        const next = yield* Effect.uninterruptible(writePending(cursor, pending, batch, lineage))
        buffers.giveBack(batch)
        yield* Effect.logWarning("Object decided before a stop but not in the folder: written again with the same events").pipe(
          Effect.annotateLogs({ key: pending.key, events: batch.events, last_written_msg_id: last })
        )
        return next
      })

      const exportFrom = (cursor: ExportCursor.ExportCursor, lineage: Lineage, stop: Effect.Effect<void>) =>
        // Stopping ends the source only: what is already read flows on and is written.
        linesAfter(cursor, liveStream.open(ExportCursor.position(cursor)).pipe(Stream.interruptWhen(stop))).pipe(
          batched({ window: config.writeEvery, maxEvents: config.maxEvents, maxBytes: config.maxBytes }, buffers),
          // The next batch fills while one is written.
          Stream.buffer({ capacity: 1 }),
          Stream.runFoldEffect(() => cursor, writeBatch(lineage)),
          Effect.asVoid
        )

      /** One export from the state as read after `resets` resets, until it fails, stops, or the state is reset. */
      const exportSince = (lineage: Lineage) =>
        Effect.scoped(Effect.gen(function*() {
          const start = yield* progress.active(startCursor(config, storage, state, commit, { resets: lineage.resets, written: yield* Ref.get(lineage.written) }))
          yield* Ref.update(lineage.written, (written) => Math.max(written, start.cursor.fileCount))
          // A reset seen by a heartbeat ends this export at once; the events it holds are dropped, not written.
          const resetSeen = state.awaitReset(lineage.resets).pipe(Effect.andThen(Effect.fail(new StateStoreReset({ message: "the connector state was reset on the platform" }))))
          const cursor = Option.isSome(start.rewrite) ? yield* Effect.raceFirst(rewrite(start.cursor, start.rewrite.value, lineage), resetSeen) : start.cursor
          yield* metrics.cursor(cursor)
          yield* Effect.logInfo("Listening to the live stream").pipe(
            Effect.annotateLogs({ stream: Option.getOrElse(config.liveStream.streamId, () => "raw"), start_from: cursor.startFrom, file_count: cursor.fileCount })
          )
          yield* drainOnInterrupt((stop) => Effect.raceFirst(exportFrom(cursor, lineage, stop), resetSeen), (exit) =>
            isFailure(exit)
              ? Effect.logError("Events held at stop could not be written; they are exported again after the restart", exit.cause)
              : Effect.logInfo("Events held at stop written"))
        }))

      const exportUntilStopped = (written: Ref.Ref<number>): Effect.Effect<void, StreamExportError | LiveStreamError> =>
        Effect.flatMap(state.resets, (resets) =>
          exportSince({ resets, written }).pipe(
            Effect.catchTag("StateStoreReset", () =>
              Effect.flatMap(Ref.get(written), (fileCount) =>
                Effect.logWarning("Connector state reset on the platform: the export starts over from the configured start, numbering its objects after the last one written").pipe(
                  Effect.annotateLogs({ file_count: fileCount }),
                  Effect.andThen(exportUntilStopped(written))
                )))
          ))

      const run = Effect.flatMap(Ref.make(0), exportUntilStopped)

      return StreamExporter.of({ run })
    })
  )
}

/** One export between resets: the resets it started after, and the number of the last object this process wrote. */
interface Lineage {
  readonly resets: number
  readonly written: Ref.Ref<number>
}
