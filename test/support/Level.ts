import { Effect, Latch } from "effect"

/**
 * A number that fakes move as things happen (objects written, pings answered, sleeps in progress) and
 * that a test waits on: a sync point, where yielding a number of times or sleeping would only hope.
 */
export interface Level {
  readonly value: () => number
  readonly add: (delta?: number) => void
  /** Waits until the level is at least `target`. */
  readonly reach: (target: number) => Effect.Effect<void>
}

export const makeLevel = (): Level => {
  let value = 0
  const waiters = new Set<{ readonly target: number; readonly latch: Latch.Latch }>()
  return {
    value: () => value,
    add: (delta = 1) => {
      value += delta
      for (const waiter of waiters) {
        if (waiter.target <= value) {
          waiters.delete(waiter)
          waiter.latch.openUnsafe()
        }
      }
    },
    reach: (target) =>
      Effect.suspend(() => {
        if (value >= target) return Effect.void
        const latch = Latch.makeUnsafe(false)
        waiters.add({ target, latch })
        return latch.await
      })
  }
}
