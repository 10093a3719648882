import { Cause, DateTime, Effect, Exit, Option, Ref, Scope } from "effect"
import type { OpenCti } from "../opencti/OpenCti.js"
import { failureMessage } from "../connector/failureMessage.js"
import { ImportError, inPhase } from "./ImportError.js"

/** The platform work of one prefix in one cycle, created at the first file that has something to send. */
export interface PrefixWork {
  readonly id: Effect.Effect<string, ImportError>
  /** Counts one file of the prefix as imported. */
  readonly fileImported: Effect.Effect<void>
  /** Closes the work as processed (when one was created), with the number of files in its message. */
  readonly complete: Effect.Effect<number, ImportError>
  /** Closes the work (when one was created and is still open) for a run that ended with `cause`: in error with the reason, or as processed after a shutdown. */
  readonly end: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
}

/**
 * A scoped resource: when the scope closes before `complete`, the work is closed anyway, so the
 * platform never keeps it open forever: in error with the reason after a failure, as processed (with
 * the files done so far) after a shutdown.
 */
export const makePrefixWork = (openCti: OpenCti["Service"], bucket: string, prefix: string): Effect.Effect<PrefixWork, never, Scope.Scope> =>
  Effect.gen(function*() {
    const created = yield* Ref.make(Option.none<string>())
    const closed = yield* Ref.make(false)
    const files = yield* Ref.make(0)
    const location = { bucket, prefix }
    const processedMessage = (count: number) => `Connector successfully processed S3 prefix '${prefix}': ${count} file(s) ingested`

    const end = (cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        const workId = yield* Ref.get(created)
        if (Option.isNone(workId) || (yield* Ref.getAndSet(closed, true))) return
        const count = yield* Ref.get(files)
        const [message, inError] = Cause.hasInterruptsOnly(cause)
          ? [`S3 prefix '${prefix}' stopped by a shutdown after ${count} file(s) ingested`, false]
          : [`S3 prefix '${prefix}' failed after ${count} file(s) ingested: ${failureMessage(cause)}`, true]
        yield* openCti.workToProcessed(workId.value, message, inError).pipe(
          Effect.catch((error) => Effect.logError("Cannot close the work").pipe(Effect.annotateLogs({ work_id: workId.value, reason: error.message })))
        )
      })

    yield* Effect.addFinalizer((exit) => (Exit.isSuccess(exit) ? Effect.void : end(exit.cause)))

    const id = Effect.gen(function*() {
      const existing = yield* Ref.get(created)
      if (Option.isSome(existing)) return existing.value
      const now = yield* DateTime.now
      const workId = yield* openCti.workAdd(`S3/${prefix} run @ ${DateTime.formatIso(now)}`).pipe(inPhase("work", location))
      yield* Ref.set(created, Option.some(workId))
      return workId
    })

    const complete = Effect.gen(function*() {
      const count = yield* Ref.get(files)
      const workId = yield* Ref.get(created)
      if (Option.isSome(workId)) {
        yield* openCti.workToProcessed(workId.value, processedMessage(count), false).pipe(inPhase("work", location))
        yield* Ref.set(closed, true)
      }
      return count
    })

    return { id, fileImported: Ref.update(files, (count) => count + 1), complete, end }
  })
