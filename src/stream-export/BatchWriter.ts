import { Clock, Effect } from "effect"
import type { ObjectStorage } from "../storage/ObjectStorage.js"
import type { Batch } from "./Batching.js"
import type { ExportMetrics } from "./ExportMetrics.js"
import { objectKey } from "./ExportObjects.js"
import { inPhase } from "./StreamExportError.js"

const ndjson = "application/x-ndjson"

/** Names object number `fileNumber` of the folder now, and writes a batch under a key so named. */
export const makeBatchWriter = (storage: ObjectStorage["Service"], options: { readonly bucket: string; readonly folder: string }, metrics: ExportMetrics) => ({
  keyOf: (fileNumber: number) => Effect.map(Clock.currentTimeMillis, (now) => objectKey(options.folder, now, fileNumber)),
  write: Effect.fn("BatchWriter.write")(function*(key: string, batch: Batch) {
    yield* storage.put(options.bucket, key, batch.body, ndjson).pipe(
      Effect.tapError(() => metrics.writeFailed),
      inPhase("write", { key })
    )
    yield* metrics.written
  })
})

export type BatchWriter = ReturnType<typeof makeBatchWriter>
