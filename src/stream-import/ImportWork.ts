import { Cause, DateTime, Effect, Exit, Option, Ref } from "effect"
import type { Scope } from "effect"
import type { OpenCti } from "../opencti/OpenCti.js"
import { failureMessage } from "../connector/failureMessage.js"
import { inPhase, StreamImportError } from "./StreamImportError.js"

interface Counts {
  readonly files: number
  readonly messages: number
  readonly moved: number
}

/** The platform work of one cycle that found objects to handle. */
export interface ImportWork {
  readonly messagesSent: (count: number) => Effect.Effect<void>
  readonly fileImported: Effect.Effect<void>
  /** Counts an object found again after its import and moved without sending. */
  readonly fileMoved: Effect.Effect<void>
  /** Closes the work as processed (when one was created), with the counts in its message. */
  readonly complete: Effect.Effect<void, StreamImportError>
}

const describeCounts = (counts: Counts): string =>
  `${counts.files} object(s) imported, ${counts.messages} event(s) sent` + (counts.moved === 0 ? "" : `, ${counts.moved} object(s) imported earlier moved to done`)

/**
 * Creates the work, as a scoped resource: when the scope closes before `complete`, the work is closed
 * anyway, in error with the reason after a failure, as processed with the counts so far after a shutdown.
 */
export const makeImportWork = (openCti: OpenCti["Service"]): Effect.Effect<ImportWork, StreamImportError, Scope.Scope> =>
  Effect.gen(function*() {
    const now = yield* DateTime.now
    const workId = yield* openCti.workAdd(`Stream import run @ ${DateTime.formatIso(now)}`).pipe(inPhase("work"))
    const created = yield* Ref.make(Option.some(workId))
    const counts = yield* Ref.make<Counts>({ files: 0, messages: 0, moved: 0 })

    const close = (message: (counts: Counts) => string, inError: boolean) =>
      Effect.gen(function*() {
        const workId = yield* Ref.getAndSet(created, Option.none())
        if (Option.isNone(workId)) return
        yield* openCti.workToProcessed(workId.value, message(yield* Ref.get(counts)), inError)
      })

    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : Cause.hasInterruptsOnly(exit.cause)
        ? close((counts) => `Stream import stopped by a shutdown: ${describeCounts(counts)}`, false).pipe(Effect.ignore)
        : close((counts) => `Stream import failed after ${describeCounts(counts)}: ${failureMessage(exit.cause)}`, true).pipe(
          Effect.catch((error) => Effect.logError("Cannot close the work").pipe(Effect.annotateLogs({ reason: error.message })))
        ))

    return {
      messagesSent: (count) => Ref.update(counts, (current) => ({ ...current, messages: current.messages + count })),
      fileImported: Ref.update(counts, (current) => ({ ...current, files: current.files + 1 })),
      fileMoved: Ref.update(counts, (current) => ({ ...current, moved: current.moved + 1 })),
      complete: close((counts) => `Stream import processed: ${describeCounts(counts)}`, false).pipe(inPhase("work"))
    }
  })
