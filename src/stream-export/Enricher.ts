import { Array as Arr, Effect, Option, Result } from "effect"
import type { LiveEvent } from "../opencti/LiveStream.js"
import type { OpenCti } from "../opencti/OpenCti.js"
import { ExportLine, prepare, toExportLine } from "./ExportLine.js"
import type { PreparedEvent } from "./ExportLine.js"
import { inPhase } from "./StreamExportError.js"

/** The line of an event that takes no effect (no file to fetch, nothing to log, no failure); else the event, prepared. */
const lineAtOnce = (event: LiveEvent): ExportLine | PreparedEvent => {
  const prepared = prepare(event)
  if (prepared._tag === "Unreadable" || prepared.ambiguousId || prepared.files.length > 0) return prepared
  return Result.getOrElse(toExportLine(prepared), () => prepared)
}

const isLine = (step: ExportLine | PreparedEvent): step is ExportLine => step instanceof ExportLine

const allLines = (steps: Arr.NonEmptyReadonlyArray<ExportLine | PreparedEvent>): steps is Arr.NonEmptyReadonlyArray<ExportLine> => steps.every(isLine)

/**
 * Turns live events into export lines as the reference exporter does: `id`, `type` = event name,
 * `previous_standard` for updates that change `/id`, and the content of the object's files inlined as
 * base64 into the file entries of its OpenCTI extension (the copy the importer reads). Files are
 * fetched `concurrency` at a time; the lines keep the order of the events.
 *
 * Only a file that is gone (404) is exported without its content, with a warning. Any other answer
 * (401, 403, a redirect, which is not followed, a 5xx still failing after the retries) or no answer at
 * all stops the exporter before the event, so that nothing is exported incomplete in silence; the
 * restart resumes before it. So does a file larger than `maxFileBytes` (EXPORT_MAX_FILE_BYTES): it is
 * refused as it arrives, before its content is held whole.
 */
export const makeEnricher = (openCti: OpenCti["Service"], options: { readonly concurrency: number; readonly maxFileBytes: number }) => {
  const fetchFile = (path: string, eventId: string) =>
    openCti.download(path, options.maxFileBytes).pipe(
      Effect.map((bytes) => Option.some(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"))),
      Effect.catch((error) =>
        error.status === 404
          ? Effect.as(Effect.logWarning("File not exported: the platform no longer has it").pipe(Effect.annotateLogs({ path, reason: error.message })), Option.none<string>())
          : Effect.fail(error)
      ),
      inPhase("enrich", { key: path, eventId })
    )

  const complete = (prepared: PreparedEvent) =>
    Effect.gen(function*() {
      if (prepared._tag === "Unreadable") {
        // Skipping it would lose it: the exporter stops before it, naming it.
        return yield* Effect.fail({ message: `the event's data is not a JSON object: ${prepared.reason}` }).pipe(inPhase("enrich", { eventId: prepared.event.id }))
      }
      if (prepared.ambiguousId) yield* Effect.logError("Several /id operations in the reverse patch: previous_standard left out")
      const contents = new Map<number, string>()
      for (const file of prepared.files) {
        const content = yield* fetchFile(file.path, prepared.event.id)
        if (Option.isSome(content)) contents.set(file.index, content.value)
      }
      return yield* Effect.fromResult(toExportLine(prepared, contents)).pipe(inPhase("enrich", { eventId: prepared.event.id }))
    }).pipe(Effect.annotateLogs({ event_id: prepared.event.id, action: prepared.event.event }))

  /**
   * One chunk of events: the events without files or anything to log take no effect at all. Each is
   * made a line as soon as it is parsed, so its parsed payload is dropped at once instead of being held
   * with those of the whole chunk.
   */
  return Effect.fn("Enricher.enrich")(function*(events: Arr.NonEmptyReadonlyArray<LiveEvent>) {
    const steps = Arr.map(events, lineAtOnce)
    return allLines(steps)
      ? steps
      : yield* Effect.forEach(steps, (step) => isLine(step) ? Effect.succeed(step) : complete(step), { concurrency: options.concurrency })
  })
}
