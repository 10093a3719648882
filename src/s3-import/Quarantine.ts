import { DateTime, Effect } from "effect"
import type { ObjectStorage } from "../storage/ObjectStorage.js"
import { inPhase } from "./ImportError.js"
import type { ImportError } from "./ImportError.js"

/** What `<key>.error.json` says of a quarantined file. */
interface QuarantineReport {
  readonly phase: string
  readonly reason: string
  readonly time: string
  readonly connector_id: string
  readonly bucket: string
  readonly key: string
}

/**
 * Copies a file that cannot be imported to `folder` + its key, with `<key>.error.json` beside it. The
 * copy is written before the report, and the original is only removed afterwards by the caller: a
 * crash in between leaves the file in both places, never in none.
 */
export const quarantine = (
  storage: ObjectStorage["Service"],
  options: { readonly bucket: string; readonly folder: string; readonly connectorId: string },
  file: { readonly key: string; readonly body: Uint8Array; readonly prefix: string },
  failure: ImportError
): Effect.Effect<void, ImportError> =>
  Effect.gen(function*() {
    const target = `${options.folder}${file.key}`
    const report: QuarantineReport = {
      phase: failure.phase,
      reason: failure.message,
      time: DateTime.formatIso(yield* DateTime.now),
      connector_id: options.connectorId,
      bucket: options.bucket,
      key: file.key
    }
    yield* storage.put(options.bucket, target, file.body, "application/octet-stream")
    yield* storage.put(options.bucket, `${target}.error.json`, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`), "application/json")
    yield* Effect.logWarning("File quarantined").pipe(Effect.annotateLogs({ phase: failure.phase, reason: failure.message, quarantined_as: target }))
  }).pipe(inPhase("quarantine", { bucket: options.bucket, prefix: file.prefix, key: file.key }))
