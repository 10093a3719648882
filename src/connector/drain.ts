import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { Scope } from "effect"

/**
 * Runs `work` to its end in a fiber of its own. Interrupted (a shutdown), it does not cut `work` short:
 * it completes `stop`, with which `work` ends its source (`Stream.interruptWhen`), waits until what is
 * already in flight is done, and hands the exit of that drained run to `drained`. A failure met while
 * draining is the result: the connector exits 1, not as a clean stop.
 */
export const drainOnInterrupt = <E, R>(
  work: (stop: Effect.Effect<void>) => Effect.Effect<void, E, R>,
  drained: (exit: Exit.Exit<void, E>) => Effect.Effect<void>
): Effect.Effect<void, E, R | Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const stop = yield* Deferred.make<void>()
      const running = yield* Effect.forkScoped(restore(work(Deferred.await(stop))))
      const exit = yield* Effect.exit(restore(Fiber.join(running)))
      if (!(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))) return yield* exit
      yield* Deferred.succeed(stop, undefined)
      const drainedExit = yield* Fiber.await(running)
      yield* drained(drainedExit)
      // Raised as a defect: on its way up, past the interruption, a failure would give way to it.
      if (isFailure(drainedExit)) return yield* Effect.die(Cause.squash(drainedExit.cause))
    })
  )

/** Whether an exit is a failure other than an interruption. */
export const isFailure = <A, E>(exit: Exit.Exit<A, E>): exit is Exit.Failure<A, E> => Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
