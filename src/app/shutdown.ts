import { Cause, Deferred, Duration, Effect, Exit } from "effect"
import type { Runtime } from "effect"

/**
 * The exit code: 0 for a clean stop, including a stop asked for by SIGTERM or SIGINT (the connectors
 * finish their work in finalizers before that); 1 for a failure.
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

const signals = ["SIGTERM", "SIGINT"] as const

/** `onSignal` listens to SIGTERM and SIGINT as long as the enclosing scope. */
const onSignals = (onSignal: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      for (const signal of signals) process.on(signal, onSignal)
    }),
    () => Effect.sync(() => {
      for (const signal of signals) process.removeListener(signal, onSignal)
    })
  )

/**
 * While the program drains after a first SIGTERM or SIGINT, a second one ends the process at once.
 * The listeners live as long as the enclosing scope.
 */
export const exitOnSecondSignal = Effect.suspend(() => {
  let received = 0
  return onSignals(() => {
    received += 1
    if (received > 1) process.exit(130)
  })
})

/**
 * From the first SIGTERM or SIGINT, a stop has `deadline` to drain and close; past it, the process logs
 * why and exits 1, as a kill would end it (what was in flight is taken up again at the next start).
 * The listeners and the timer live as long as the enclosing scope.
 */
export const exitPastDeadline = (deadline: Duration.Duration) =>
  Effect.gen(function*() {
    const signalled = yield* Deferred.make<void>()
    yield* onSignals(() => {
      Deferred.doneUnsafe(signalled, Effect.void)
    })
    yield* Effect.forkScoped(Deferred.await(signalled).pipe(
      Effect.andThen(Effect.sleep(deadline)),
      Effect.andThen(Effect.logError(`The stop did not finish within ${Duration.format(deadline)} (CONNECTOR_SHUTDOWN_TIMEOUT_SEC): exiting`)),
      Effect.andThen(Effect.sync(() => process.exit(1)))
    ))
  })
