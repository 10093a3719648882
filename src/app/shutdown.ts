import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { Runtime, Scope } from "effect"

/**
 * The exit code: 0 for a clean stop, including a stop asked for by SIGTERM or SIGINT (the connectors
 * finish their work in finalizers before that); 1 for a failure.
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

const signals = ["SIGTERM", "SIGINT"] as const

/**
 * While the program drains after a first SIGTERM or SIGINT, a second one ends the process at once.
 * The listeners live as long as the enclosing scope.
 */
export const exitOnSecondSignal = Effect.acquireRelease(
  Effect.sync(() => {
    let received = 0
    const onSignal = () => {
      received += 1
      if (received > 1) process.exit(130)
    }
    for (const signal of signals) process.on(signal, onSignal)
    return onSignal
  }),
  (onSignal) => Effect.sync(() => {
    for (const signal of signals) process.removeListener(signal, onSignal)
  })
)

/**
 * Runs `work` to its end in a fiber of its own. Interrupted (a shutdown), it does not cut `work` short:
 * it completes `stop`, with which `work` ends its source (`Stream.interruptWhen`), waits until what is
 * already in flight is done, and hands the exit of that drained run to `drained`.
 */
export const drainOnInterrupt = <E, R>(
  work: (stop: Effect.Effect<void>) => Effect.Effect<void, E, R>,
  drained: (exit: Exit.Exit<void, E>) => Effect.Effect<void>
): Effect.Effect<void, E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const stop = yield* Deferred.make<void>()
    const running = yield* Effect.forkScoped(work(Deferred.await(stop)))
    yield* Fiber.join(running).pipe(
      Effect.onInterrupt(() => Deferred.succeed(stop, undefined).pipe(Effect.andThen(Fiber.await(running)), Effect.flatMap(drained)))
    )
  })

/** Whether an exit is a failure other than an interruption. */
export const isFailure = <A, E>(exit: Exit.Exit<A, E>): exit is Exit.Failure<A, E> => Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
