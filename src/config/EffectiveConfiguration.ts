import { Array as Arr, Context, Duration, Effect, Layer, Option, Predicate, Redacted } from "effect"
import { ConfigFile } from "./ConfigSource.js"
import type { ConfigurationError, Setting } from "./Setting.js"

/** A setting's value as text: secrets redacted, durations in seconds, unset optional values as none. */
const render = (value: unknown): Option.Option<string> => {
  if (Redacted.isRedacted(value)) return Option.some("<redacted>")
  if (Option.isOption(value)) return Option.flatMap(value, render)
  if (Duration.isDuration(value)) return Option.some(String(Duration.toSeconds(value)))
  if (value instanceof URL) return Option.some(value.href.replace(/\/+$/, ""))
  if (Array.isArray(value)) return Option.some(value.map(String).join(","))
  return Option.some(Predicate.isString(value) ? value : String(value))
}

type Settings = Record<string, Setting<unknown>>

/** Every set variable of `settings`, by name, with its value as the connector reads it (defaults applied). */
const describe = (settings: ReadonlyArray<Settings>): Effect.Effect<Record<string, string>, ConfigurationError> =>
  Effect.map(
    Effect.forEach(settings.flatMap((record) => Object.values(record)), (setting) =>
      Effect.map(setting.read, (value) => Option.map(render(value), (text) => [setting.name, text] as const))),
    (entries) => Object.fromEntries(Arr.getSomes(entries))
  )

/**
 * The configuration a connector runs with: the `config.yml` it read and the value of each of its
 * variables, secrets redacted. Logged once at start-up, so a deployment shows what it was given.
 */
export class EffectiveConfiguration extends Context.Service<EffectiveConfiguration, {
  readonly file: Option.Option<string>
  readonly variables: Record<string, string>
}>()("opencti-connectors/config/EffectiveConfiguration") {
  /** The effective configuration of the connector that reads these settings. */
  static readonly layer = (...settings: ReadonlyArray<Settings>) =>
    Layer.effect(
      EffectiveConfiguration,
      Effect.gen(function*() {
        const file = yield* ConfigFile
        return EffectiveConfiguration.of({ file: file.path, variables: yield* describe(settings) })
      })
    )

  /** One log line: `config_file` (the path, or none) and `configuration` (the variables). */
  static readonly log = Effect.flatMap(EffectiveConfiguration, (configuration) =>
    Effect.logInfo("Effective configuration").pipe(
      Effect.annotateLogs({ config_file: Option.getOrElse(configuration.file, () => "none"), configuration: configuration.variables })
    ))
}
