import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { Scope } from "effect"

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
