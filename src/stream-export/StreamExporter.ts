import { Context, Effect, Layer, Option, Stream } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { drainOnInterrupt, isFailure } from "../connector/drain.js"
import { LiveStream } from "../opencti/LiveStream.js"
import type { LiveStreamError } from "../opencti/LiveStream.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { StateStore } from "../state/StateStore.js"
import { ObjectStorage } from "../storage/ObjectStorage.js"
import { batched } from "./Batching.js"
import type { Batch } from "./Batching.js"
import { makeBatchWriter } from "./BatchWriter.js"
import { makeCommitter } from "./Committer.js"
import { makeEnricher } from "./Enricher.js"
import * as ExportCursor from "./ExportCursor.js"
import { makeExportMetrics } from "./ExportMetrics.js"
import { startCursor } from "./ExportStart.js"
import { StreamExportConfig } from "./StreamExportConfig.js"
import type { StreamExportError } from "./StreamExportError.js"

/** The stream exporter: live stream → enriched lines → batches → one object per batch, committed after its write. */
export class StreamExporter extends Context.Service<StreamExporter, {
  /**
   * Exports until the live stream, a write or a commit fails. Interrupted (SIGTERM), it stops reading
   * the stream and writes and commits the events it holds before it returns.
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
      const metrics = makeExportMetrics(openCtiConfig.connectorName)
      const enrich = makeEnricher(yield* OpenCti, { concurrency: config.consumerCount })
      const write = makeBatchWriter(storage, config, metrics)
      const commit = makeCommitter(state, metrics)

      const writeBatch = Effect.fn("StreamExporter.writeBatch")(function*(cursor: ExportCursor.ExportCursor, batch: Batch) {
        const fileNumber = cursor.fileCount + 1
        const next = ExportCursor.afterObject(cursor, fileNumber, batch.ids)
        // Once the object is written its commit must follow, whatever interrupts.
        const key = yield* Effect.uninterruptible(Effect.tap(write(fileNumber, batch), () => commit(next)))
        yield* Effect.logInfo("Batch written").pipe(Effect.annotateLogs({ key, events: batch.events, bytes: batch.body.byteLength, last_written_msg_id: batch.ids.last }))
        return next
      })

      const exportFrom = (cursor: ExportCursor.ExportCursor, stop: Effect.Effect<void>) =>
        liveStream.open(ExportCursor.position(cursor)).pipe(
          // Stopping ends the source only: what is already read flows on and is written.
          Stream.interruptWhen(stop),
          Stream.mapArrayEffect(enrich),
          Stream.mapArrayEffect((lines) => Effect.as(metrics.processed(lines), lines)),
          batched({ window: config.writeEvery, maxEvents: config.maxEvents, maxBytes: config.maxBytes }),
          // The next batch fills while one is written.
          Stream.buffer({ capacity: 1 }),
          Stream.runFoldEffect(() => cursor, writeBatch),
          Effect.asVoid
        )

      const run = Effect.scoped(Effect.gen(function*() {
        const cursor = yield* startCursor(config, storage, state, commit)
        yield* metrics.cursor(cursor)
        yield* Effect.logInfo("Listening to the live stream").pipe(
          Effect.annotateLogs({ stream: Option.getOrElse(config.liveStream.streamId, () => "raw"), start_from: cursor.startFrom, file_count: cursor.fileCount })
        )
        yield* drainOnInterrupt((stop) => exportFrom(cursor, stop), (exit) =>
          isFailure(exit)
            ? Effect.logError("Events held at stop could not be written; they are exported again after the restart", exit.cause)
            : Effect.logInfo("Events held at stop written"))
      }))

      return StreamExporter.of({ run })
    })
  )
}
