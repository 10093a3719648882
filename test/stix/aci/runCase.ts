import { Cause, Effect, Exit, Logger, type LogLevel, Option, References } from "effect"
import { TestClock } from "effect/testing"
import { parseBundle, type StixBundle } from "../../../src/stix/Bundle.js"
import type { AciConfig, AciPlatform } from "../../../src/stix/aci/AciPlatform.js"
import { transformAci } from "../../../src/stix/aci/transformAci.js"
import { organizationId } from "../../../src/stix/StixId.js"
import { projectMarking } from "./deviations.js"
import type { GoldenCase, LogRecord } from "./goldenCases.js"

export const configOf = (goldenCase: GoldenCase): AciConfig => ({
  marking: projectMarking(goldenCase),
  authorId: Option.map(Option.fromNullishOr(goldenCase.spec.config.author), organizationId),
  attachOriginalFile: goldenCase.spec.config.attach_original_file,
  source: { key: goldenCase.spec.config.file_key, bytes: goldenCase.bytes }
})

/** Effect's levels under the names the reference's logs use. */
const LEVELS: Readonly<Record<LogLevel.LogLevel, string>> = {
  All: "all",
  Fatal: "critical",
  Error: "error",
  Warn: "warning",
  Info: "info",
  Debug: "debug",
  Trace: "trace",
  None: "none"
}

export interface RecordedLog extends LogRecord {
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Parses the case's bytes and transforms them at the case's frozen instant, recording the logs. */
export const runCase = Effect.fnUntraced(function*(goldenCase: GoldenCase, platform: AciPlatform<unknown>) {
  const logs: Array<RecordedLog> = []
  const collector = Logger.make(({ fiber, logLevel, message }) => {
    logs.push({
      level: LEVELS[logLevel],
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: fiber.getRef(References.CurrentLogAnnotations)
    })
  })
  yield* TestClock.setTime(Date.parse(goldenCase.spec.frozen_now))
  const exit = yield* parseBundle(goldenCase.bytes).pipe(
    Effect.flatMap((bundle) => transformAci(bundle, configOf(goldenCase), platform)),
    Effect.provide(Logger.layer([collector])),
    Effect.exit
  )
  return { exit, logs }
})

/** The bundle a run sent; anything else fails the test with what happened instead. */
/** The bundle sent, as the platform reads it: numbers kept as their text (`10.0`) compare as the numbers Python's `json` wrote. */
export const sentBundle = (exit: Exit.Exit<Option.Option<StixBundle>, unknown>): StixBundle => {
  if (Exit.isFailure(exit)) throw new Error(`transformation failed: ${Cause.pretty(exit.cause)}`)
  if (Option.isNone(exit.value)) throw new Error("nothing to send")
  return JSON.parse(JSON.stringify(exit.value.value)) as StixBundle
}
