import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import { vi } from "vitest"
import { exitOnSecondSignal, exitPastDeadline, teardown } from "../../src/app/shutdown.js"

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  let code = -1
  teardown(exit, (value) => (code = value))
  return code
}

describe("shutdown", () => {
  it("exits 0 on success and on a stop by signal, 1 on a failure", () => {
    assert.strictEqual(exitCode(Exit.succeed(undefined)), 0)
    assert.strictEqual(exitCode(Exit.failCause(Cause.interrupt())), 0)
    assert.strictEqual(exitCode(Exit.fail("boom")), 1)
    assert.strictEqual(exitCode(Exit.die(new Error("bug"))), 1)
  })

  it.effect("ends the process at once on a second SIGTERM or SIGINT, and stops listening with its scope", () =>
    Effect.gen(function*() {
      const exit = vi.spyOn(process, "exit").mockImplementation(() => undefined as never)
      try {
        yield* Effect.scoped(Effect.gen(function*() {
          yield* exitOnSecondSignal
          process.emit("SIGTERM")
          assert.strictEqual(exit.mock.calls.length, 0)
          process.emit("SIGINT")
          assert.deepStrictEqual(exit.mock.calls, [[130]])
        }))
        assert.strictEqual(process.listenerCount("SIGTERM"), 0)
      } finally {
        exit.mockRestore()
      }
    }))

  it.effect("a stop that outlasts its deadline ends the process with 1", () =>
    Effect.gen(function*() {
      const exit = vi.spyOn(process, "exit").mockImplementation(() => undefined as never)
      try {
        yield* Effect.scoped(Effect.gen(function*() {
          yield* exitPastDeadline(Duration.seconds(8))
          yield* TestClock.adjust(Duration.seconds(60))
          assert.strictEqual(exit.mock.calls.length, 0, "no deadline before a signal")
          process.emit("SIGTERM")
          yield* TestClock.adjust(Duration.seconds(7))
          assert.strictEqual(exit.mock.calls.length, 0)
          yield* TestClock.adjust(Duration.seconds(1))
          assert.deepStrictEqual(exit.mock.calls, [[1]])
        }))
        assert.strictEqual(process.listenerCount("SIGTERM"), 0)
      } finally {
        exit.mockRestore()
      }
    }))
})
