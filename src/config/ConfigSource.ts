import { ConfigProvider, Effect, Predicate } from "effect"
import { readFile } from "node:fs/promises"
import { ConfigurationError } from "./Setting.js"

/**
 * Flattens a `config.yml` document into environment names: `s3.bucket_name` becomes `S3_BUCKET_NAME`,
 * the same names the environment uses, so one table of variables describes both sources.
 */
export const flattenYaml = (document: unknown): Record<string, string> => {
  const flat: Record<string, string> = {}
  if (!Predicate.isObject(document)) return flat
  for (const [section, entries] of Object.entries(document)) {
    if (!Predicate.isObject(entries)) continue
    for (const [key, value] of Object.entries(entries)) {
      if (value === null || value === undefined) continue
      flat[`${section}_${key}`.toUpperCase()] = Array.isArray(value) ? value.map(String).join(",") : String(value)
    }
  }
  return flat
}

const readYaml = (path: string, required: boolean): Effect.Effect<Record<string, string>, ConfigurationError> =>
  Effect.tryPromise({
    try: async () => {
      const text = await readFile(path, "utf8")
      // The YAML parser is loaded only when there is a file to parse: most deployments set variables only.
      const { parse } = await import("yaml")
      return flattenYaml(parse(text))
    },
    catch: (cause) => cause
  }).pipe(
    Effect.catch((cause) =>
      !required && Predicate.hasProperty(cause, "code") && cause.code === "ENOENT"
        ? Effect.succeed({})
        : Effect.fail(new ConfigurationError({ variable: "CONFIG_FILE", message: `CONFIG_FILE: cannot read ${path}: ${String(cause)}` }))
    )
  )

/**
 * The environment over `config.yml` (path from `CONFIG_FILE`, default `./config.yml`, optional unless
 * named): a variable set in the environment wins; an empty one counts as unset.
 */
export const makeConfigProvider = (env: Record<string, string | undefined>): Effect.Effect<ConfigProvider.ConfigProvider, ConfigurationError> =>
  Effect.gen(function*() {
    const named = env["CONFIG_FILE"]?.trim()
    const fromFile = yield* readYaml(named || "config.yml", Boolean(named))
    const fromEnv = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""))
    return ConfigProvider.fromEnvRecord({ ...fromFile, ...fromEnv })
  })

/** The ConfigProvider of a running connector: the process environment over `config.yml`. */
export const layerProcess = ConfigProvider.layer(makeConfigProvider(process.env))

/** A ConfigProvider from explicit variables only, for tests and embedded runs. */
export const layerRecord = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))
