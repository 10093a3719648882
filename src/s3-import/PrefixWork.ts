import { Cause, DateTime, Effect, Exit, Option, Ref, Scope } from "effect"
import type { OpenCti } from "../opencti/OpenCti.js"
import { ImportError, inPhase } from "./ImportError.js"

/** The platform work of one prefix in one cycle, created at the first file that has something to send. */
export interface PrefixWork {
  readonly id: Effect.Effect<string, ImportError>
  /** Closes the work as processed (when one was created); the number of files goes into its message. */
  readonly complete: (files: number) => Effect.Effect<void, ImportError>
}

const describeFailure = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => (Cause.hasInterruptsOnly(cause) ? "interrupted" : Cause.pretty(cause)),
    onSome: (error) => (error instanceof ImportError ? error.message : String(error))
  })

/**
 * A scoped resource: when the scope closes on failure or interruption before `complete`, the work is
 * closed in error with the reason, so the platform never keeps a work open forever.
 */
export const makePrefixWork = (openCti: OpenCti["Service"], bucket: string, prefix: string): Effect.Effect<PrefixWork, never, Scope.Scope> =>
  Effect.gen(function*() {
    const created = yield* Ref.make(Option.none<string>())
    const closed = yield* Ref.make(false)
    const location = { bucket, prefix }

    yield* Effect.addFinalizer((exit) =>
      Effect.gen(function*() {
        const workId = yield* Ref.get(created)
        if (Exit.isSuccess(exit) || Option.isNone(workId) || (yield* Ref.get(closed))) return
        const reason = `S3 prefix '${prefix}' failed: ${describeFailure(exit.cause)}`
        yield* openCti.workToProcessed(workId.value, reason, true).pipe(
          Effect.catch((error) => Effect.logError("Cannot close the work in error").pipe(Effect.annotateLogs({ work_id: workId.value, reason: error.message })))
        )
      }))

    const id = Effect.gen(function*() {
      const existing = yield* Ref.get(created)
      if (Option.isSome(existing)) return existing.value
      const now = yield* DateTime.now
      const workId = yield* openCti.workAdd(`S3/${prefix} run @ ${DateTime.formatIso(now)}`).pipe(inPhase("work", location))
      yield* Ref.set(created, Option.some(workId))
      return workId
    })

    const complete = (files: number) =>
      Effect.gen(function*() {
        const workId = yield* Ref.get(created)
        if (Option.isNone(workId)) return
        yield* openCti.workToProcessed(workId.value, `Connector successfully processed S3 prefix '${prefix}': ${files} file(s) ingested`, false).pipe(
          inPhase("work", location)
        )
        yield* Ref.set(closed, true)
      })

    return { id, complete }
  })
