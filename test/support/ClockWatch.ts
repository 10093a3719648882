import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { makeLevel } from "./Level.js"

/** The sleeps in progress on the test clock. */
export interface ClockWatch {
  readonly pending: () => number
  /** Waits until at least `count` fibers wait for the clock: then moving it wakes them. */
  readonly sleeping: (count?: number) => Effect.Effect<void>
}

/**
 * Runs `f` on the test clock, watched: the code under test sleeps through it, so a test waits until a
 * window, a heartbeat or a schedule is pending before it moves the clock, instead of yielding and hoping.
 */
export const watchingClock = <A, E, R>(f: (watch: ClockWatch) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  TestClock.testClockWith((clock) => {
    const pending = makeLevel()
    const watched: TestClock.TestClock = {
      ...clock,
      sleep: (duration) =>
        Effect.suspend(() => {
          pending.add()
          return Effect.ensuring(clock.sleep(duration), Effect.sync(() => pending.add(-1)))
        })
    }
    // The count rises just before the test clock records the sleep: one more turn lets a sleeper that
    // yielded in between record it before the test moves the clock.
    const sleeping = (count = 1) => Effect.andThen(pending.reach(count), Effect.yieldNow)
    return f({ pending: pending.value, sleeping }).pipe(Effect.provideService(Clock.Clock, watched))
  })
