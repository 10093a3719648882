import { Cause, Context, Effect, Layer, Option, Predicate } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import * as JsonLogger from "../logging/JsonLogger.js"

/** The tagged fields of a failure worth a log attribute of their own (phase, key, event id, ...). */
const failureAttributes = (cause: Cause.Cause<unknown>): Record<string, unknown> =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => ({}),
    onSome: (error) =>
      Predicate.isObject(error)
        ? Object.fromEntries(Object.entries(error).filter(([name, value]) => name !== "cause" && (Predicate.isString(value) || Predicate.isNumber(value))))
        : {}
  })

const failureMessage = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => "stopped by a defect",
    onSome: (error) => (error instanceof Error ? error.message : String(error))
  })

/**
 * Runs a connector program with the JSON logger its configuration asks for. A failure is logged once,
 * as one line naming what failed (with the full cause) before the process exits non-zero.
 */
export const runConnector = <E, R>(
  program: Effect.Effect<void, E, R>,
  config: Layer.Layer<OpenCtiConfig | Exclude<R, OpenCtiConfig>, unknown>,
  fallbackName: string
) =>
  Effect.scoped(Effect.gen(function*() {
    // Configuration errors happen before the connector's own logger exists.
    const context = yield* Layer.build(config).pipe(
      Effect.tapCause(logFailure),
      Effect.provide(JsonLogger.layer({ name: fallbackName, level: "Info" }))
    )
    const openCti = Context.get(context, OpenCtiConfig)
    return yield* program.pipe(
      Effect.tapCause((cause) => (Cause.hasInterruptsOnly(cause) ? Effect.logInfo("Connector stopped") : logFailure(cause))),
      Effect.provide(context),
      Effect.provide(JsonLogger.layer({ name: openCti.connectorName, level: openCti.logLevel }))
    )
  }))

const logFailure = (cause: Cause.Cause<unknown>) =>
  Effect.logError(failureMessage(cause), cause).pipe(Effect.annotateLogs(failureAttributes(cause)))
