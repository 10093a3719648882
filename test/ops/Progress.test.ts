import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { Progress } from "../../src/ops/Progress.js"

const stalledFor = Effect.flatMap(Progress, (progress) => progress.stalledFor)

describe("Progress", () => {
  it.effect("idle is not stalled, however long it lasts", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(Duration.hours(5))
      assert.isTrue(Option.isNone(yield* stalledFor))
    }).pipe(Effect.provide(Progress.layerTest)))

  it.effect("counts the time work runs without advancing, from its start or its last advance", () =>
    Effect.gen(function*() {
      const progress = yield* Progress
      const release = yield* Deferred.make<void>()
      const work = yield* Effect.forkChild(progress.active(Deferred.await(release)))
      yield* Effect.yieldNow
      yield* TestClock.adjust(Duration.seconds(40))
      assert.deepStrictEqual(yield* stalledFor, Option.some(Duration.seconds(40)))
      yield* progress.advance
      yield* TestClock.adjust(Duration.seconds(5))
      assert.deepStrictEqual(yield* stalledFor, Option.some(Duration.seconds(5)))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(work)
      assert.isTrue(Option.isNone(yield* stalledFor), "idle again once the work ends")
    }).pipe(Effect.provide(Progress.layerTest)))

  it.effect("ends a piece of work whichever way it ends", () =>
    Effect.gen(function*() {
      const progress = yield* Progress
      yield* Effect.exit(progress.active(Effect.fail("boom")))
      assert.isTrue(Option.isNone(yield* stalledFor))
    }).pipe(Effect.provide(Progress.layerTest)))
})
