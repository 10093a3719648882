import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option } from "effect"
import type { ConnectorState } from "../../src/state/StateStore.js"
import { makeStateStore } from "../../src/state/StateStore.js"

/** A platform whose answers the test gives, one push at a time; `null` stands for an empty state. */
const makePlatform = Effect.gen(function*() {
  const pushed: Array<ConnectorState | null> = []
  const answers: Array<Deferred.Deferred<Option.Option<ConnectorState>>> = []
  const push = (state: Option.Option<ConnectorState>) =>
    Effect.gen(function*() {
      pushed.push(Option.getOrNull(state))
      const answer = yield* Deferred.make<Option.Option<ConnectorState>>()
      answers.push(answer)
      return yield* Deferred.await(answer)
    })
  const answer = (index: number, state: Option.Option<ConnectorState>) =>
    Effect.suspend(() => Deferred.succeed(answers[index] ?? Deferred.makeUnsafe(), state))
  return { pushed, push, answer }
})

const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow, { discard: true })

describe("StateStore", () => {
  it.effect("a heartbeat that meets a reset does not race a commit into pushing an empty state: the commit is refused, never pushed", () =>
    Effect.gen(function*() {
      const platform = yield* makePlatform
      const made = yield* makeStateStore(Option.some({ n: 1 }), platform.push)
      const heartbeat = yield* Effect.forkChild(made.heartbeat)
      yield* settle
      const commit = yield* Effect.forkChild(made.store.setSince(0, { n: 2 }))
      yield* settle
      // The heartbeat's ping is answered with the reset while the commit waits.
      yield* platform.answer(0, Option.none())
      yield* Fiber.join(heartbeat)
      const refused = yield* Fiber.await(commit)
      assert.isTrue(Exit.isFailure(refused))
      assert.deepStrictEqual(platform.pushed, [{ n: 1 }])
      assert.strictEqual(yield* made.store.resets, 1)
      assert.isTrue(Option.isNone(yield* made.store.get))

      // The state derived after the reset is saved, and heartbeats push it, never an empty one over it.
      const saved = yield* Effect.forkChild(made.store.setSince(1, { n: 3 }))
      yield* settle
      yield* platform.answer(1, Option.some({ n: 3 }))
      yield* Fiber.join(saved)
      const next = yield* Effect.forkChild(made.heartbeat)
      yield* settle
      yield* platform.answer(2, Option.some({ n: 3 }))
      yield* Fiber.join(next)
      assert.deepStrictEqual(platform.pushed, [{ n: 1 }, { n: 3 }, { n: 3 }])
    }))

  it.effect("a commit answered with a reset fails, counts it, and wakes whoever waits for one", () =>
    Effect.gen(function*() {
      const platform = yield* makePlatform
      const made = yield* makeStateStore(Option.none(), platform.push)
      const waiting = yield* Effect.forkChild(made.store.awaitReset(0))
      const commit = yield* Effect.forkChild(made.store.setSince(0, { n: 1 }))
      yield* settle
      yield* platform.answer(0, Option.none())
      const exit = yield* Fiber.await(commit)
      assert.isTrue(Exit.isFailure(exit) && Exit.findErrorOption(exit).pipe(Option.exists((error) => error._tag === "StateStoreReset")))
      yield* Fiber.join(waiting)
      assert.strictEqual(yield* made.store.resets, 1)
    }))

  it.effect("set, as the S3 import uses it, saves whatever resets came before", () =>
    Effect.gen(function*() {
      const made = yield* makeStateStore(Option.none(), Effect.succeed)
      yield* made.resetRemotely
      yield* made.store.set({ n: 1 })
      assert.deepStrictEqual(yield* made.store.get, Option.some({ n: 1 }))
    }))
})
