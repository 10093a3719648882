import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { teardown } from "../../src/app/shutdown.js"
import { drainOnInterrupt } from "../../src/connector/drain.js"

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  let code = -1
  teardown(exit, (value) => (code = value))
  return code
}

describe("drainOnInterrupt", () => {
  it.effect("interrupted, drains the work; a failure while draining ends the run as a failure, not as a stop", () =>
    Effect.gen(function*() {
      const drained: Array<boolean> = []
      const run = (failOnStop: boolean) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Effect.scoped(drainOnInterrupt(
            (stop) => Effect.andThen(stop, failOnStop ? Effect.fail("lost while draining") : Effect.void),
            (exit) => Effect.sync(() => drained.push(Exit.isSuccess(exit)))
          )))
          yield* Effect.yieldNow
          return yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
        })
      const clean = yield* run(false)
      assert.strictEqual(exitCode(clean), 0)
      const failed = yield* run(true)
      assert.strictEqual(exitCode(failed), 1)
      assert.isTrue(Exit.isFailure(failed) && Cause.squash(failed.cause) === "lost while draining")
      assert.deepStrictEqual(drained, [true, false])
    }))
})
