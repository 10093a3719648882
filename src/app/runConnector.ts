import { Cause, Context, Effect, Layer, Option, Predicate } from "effect"
import { GlobalFlag } from "effect/cli"
import { EffectiveConfiguration } from "../config/EffectiveConfiguration.js"
import { OpenCtiConfig, openCtiSettings } from "../config/OpenCtiConfig.js"
import * as ConnectorLogger from "../logging/ConnectorLogger.js"
import { exitPastDeadline } from "./shutdown.js"

/**
 * Logs how a connector ended: a stop, or one line naming what failed (its message, the tagged fields
 * worth an attribute of their own such as phase, key and event id, and the full cause).
 */
const logEnd = (cause: Cause.Cause<unknown>) => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.logInfo("Connector stopped")
  const error = Cause.squash(cause)
  const attributes = Predicate.isObject(error)
    ? Object.fromEntries(Object.entries(error).filter(([name, value]) => name !== "cause" && (Predicate.isString(value) || Predicate.isNumber(value))))
    : {}
  return Effect.logError(error instanceof Error ? error.message : String(error), cause).pipe(Effect.annotateLogs(attributes))
}

/**
 * The logger of what happens before a connector's configuration is read (the choice of connector, its
 * configuration errors): the format the environment asks for, at info or the CLI's --log-level.
 */
export const startLogger = (name: string) =>
  Effect.gen(function*() {
    const flagLevel = Option.flatten(yield* Effect.serviceOption(GlobalFlag.LogLevel))
    const json = yield* Effect.orElseSucceed(openCtiSettings({ name, scope: [] }).jsonLogging.read, () => true)
    return ConnectorLogger.layer({ name, level: Option.getOrElse(flagLevel, () => "Info" as const), json })
  })

/**
 * Runs a connector program with the logger its configuration asks for (the CLI's --log-level, when
 * given, wins over CONNECTOR_LOG_LEVEL), after logging its effective configuration. A failure is
 * logged once, before the process exits non-zero. A stop by signal has CONNECTOR_SHUTDOWN_TIMEOUT_SEC
 * to finish.
 */
export const runConnector = <E, R>(
  program: Effect.Effect<void, E, R>,
  config: Layer.Layer<OpenCtiConfig | EffectiveConfiguration | Exclude<R, OpenCtiConfig>, unknown>,
  fallbackName: string
) =>
  Effect.scoped(Effect.gen(function*() {
    const flagLevel = Option.flatten(yield* Effect.serviceOption(GlobalFlag.LogLevel))
    // Configuration errors happen before the connector's own logger exists.
    const context = yield* Layer.build(config).pipe(Effect.onError(logEnd), Effect.provide(yield* startLogger(fallbackName)))
    const openCti = Context.get(context, OpenCtiConfig)
    return yield* Effect.andThen(exitPastDeadline(openCti.shutdownTimeout), Effect.andThen(EffectiveConfiguration.log, program)).pipe(
      Effect.onError(logEnd),
      Effect.provide(context),
      Effect.provide(ConnectorLogger.layer({ name: openCti.connectorName, level: Option.getOrElse(flagLevel, () => openCti.logLevel), json: openCti.jsonLogging }))
    )
  }))
