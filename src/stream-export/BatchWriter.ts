import { Clock, Effect } from "effect"
import type { ObjectStorage } from "../storage/ObjectStorage.js"
import type { Batch } from "./Batching.js"
import type { ExportMetrics } from "./ExportMetrics.js"
import { objectKey } from "./ExportObjects.js"
import { inPhase } from "./StreamExportError.js"

const ndjson = "application/x-ndjson"

/** Writes a batch as object number `fileNumber` of the folder; returns its key. */
export const makeBatchWriter = (storage: ObjectStorage["Service"], options: { readonly bucket: string; readonly folder: string }, metrics: ExportMetrics) =>
  Effect.fn("BatchWriter.write")(function*(fileNumber: number, batch: Batch) {
    const key = objectKey(options.folder, yield* Clock.currentTimeMillis, fileNumber)
    yield* storage.put(options.bucket, key, batch.body, ndjson).pipe(
      Effect.tapError(() => metrics.writeFailed),
      inPhase("write", { key })
    )
    yield* metrics.written
    return key
  })

export type BatchWriter = ReturnType<typeof makeBatchWriter>
