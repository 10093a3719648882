import { Cause, Option } from "effect"

/** The message a work is closed in error with: the failure's own message, or the whole cause when it holds no failure. */
export const failureMessage = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => Cause.pretty(cause),
    onSome: (error) => (error instanceof Error ? error.message : String(error))
  })
