import { Cause, Effect, Exit } from "effect"
import type { Runtime } from "effect"

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
