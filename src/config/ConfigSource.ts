import { ConfigProvider, Context, Effect, Layer, Option, Predicate } from "effect"
import { readFile } from "node:fs/promises"
import { dirname, resolve } from "node:path"
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

/** The `config.yml` a connector read, if any: logged at start-up with the effective configuration. */
export class ConfigFile extends Context.Service<ConfigFile, { readonly path: Option.Option<string> }>()("opencti-connectors/config/ConfigFile") {}

/**
 * The image's app directory, where the Python images read their `config.yml` (next to the sources):
 * the directory above the running script's (`/app` for `/app/dist/main.js`). Taken from the script
 * rather than from this module, whose place in the bundle is the bundler's choice.
 */
export const appDirectory = (): string => resolve(dirname(process.argv[1] ?? "."), "..")

/** The file's variables; none when it does not exist and is not `required`. */
const readYaml = (path: string, required: boolean): Effect.Effect<Option.Option<Record<string, string>>, ConfigurationError> =>
  Effect.tryPromise({
    try: async () => {
      const text = await readFile(path, "utf8")
      // The YAML parser is loaded only when there is a file to parse: most deployments set variables only.
      // `yaml` is a CommonJS module: its exports are the module's default in a bundle as in Node.
      const yaml = (await import("yaml")).default
      return flattenYaml(yaml.parse(text))
    },
    catch: (cause) => cause
  }).pipe(
    Effect.map(Option.some),
    Effect.catch((cause) =>
      !required && Predicate.hasProperty(cause, "code") && cause.code === "ENOENT"
        ? Effect.succeedNone
        : Effect.fail(new ConfigurationError({ variable: "CONFIG_FILE", message: `CONFIG_FILE: cannot read ${path}: ${String(cause)}` }))
    )
  )

/** The first of `paths` that exists (all of them required when there is one), with its variables. */
const firstFile = (paths: ReadonlyArray<string>, required: boolean) =>
  Effect.gen(function*() {
    for (const path of paths) {
      const variables = yield* readYaml(path, required)
      if (Option.isSome(variables)) return Option.some({ path, variables: variables.value })
    }
    return Option.none<{ readonly path: string; readonly variables: Record<string, string> }>()
  })

export interface ConfigSource {
  /** The variables: the environment's set ones over the file's. */
  readonly variables: Record<string, string>
  readonly provider: ConfigProvider.ConfigProvider
  /** The `config.yml` read, if any. */
  readonly file: Option.Option<string>
}

/**
 * The environment over a `config.yml`: the one `CONFIG_FILE` names (an error if it cannot be read),
 * else the first that exists of `config.yml` in the working directory and in the app directory. A
 * variable set in the environment wins; an empty one counts as unset.
 */
export const makeConfigSource = (env: Record<string, string | undefined>, appDir: string = appDirectory()): Effect.Effect<ConfigSource, ConfigurationError> =>
  Effect.gen(function*() {
    const named = env["CONFIG_FILE"]?.trim()
    const found = yield* (named
      ? firstFile([named], true)
      : firstFile([...new Set([resolve("config.yml"), resolve(appDir, "config.yml")])], false))
    const fromFile = Option.match(found, { onNone: () => ({}), onSome: (file) => file.variables })
    const fromEnv: Record<string, string> = {}
    for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== "") fromEnv[name] = value
    const variables = { ...fromFile, ...fromEnv }
    return { variables, provider: ConfigProvider.fromEnvRecord(variables), file: Option.map(found, (file) => file.path) }
  })

/** The configuration a source read: its variables, and the `config.yml` they came from. */
export const layerSource = ({ file, provider }: ConfigSource) =>
  Layer.merge(ConfigProvider.layer(provider), Layer.succeed(ConfigFile, { path: file }))

/** The configuration of a running connector: the process environment over `config.yml`. */
export const layerProcess = Layer.unwrap(Effect.map(makeConfigSource(process.env), layerSource))

/** A configuration from explicit variables only, for tests and embedded runs. */
export const layerRecord = (env: Record<string, string>) =>
  Layer.merge(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)), Layer.succeed(ConfigFile, { path: Option.none() }))
