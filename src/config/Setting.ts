import { Config, Duration, Effect, Option, Redacted, Schema } from "effect"

/** A start-up configuration problem, naming the variable and what it accepts. */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>()("ConfigurationError", {
  variable: Schema.String,
  message: Schema.String
}) {}

/**
 * One configuration variable: its environment name, the default shown in the README, and how its
 * text is read. `read` fails with a ConfigurationError naming the variable and the accepted values.
 */
export interface Setting<A> {
  readonly name: string
  readonly defaultText: string
  readonly read: Effect.Effect<A, ConfigurationError>
}

const raw = (name: string): Effect.Effect<Option.Option<string>, ConfigurationError> =>
  Config.option(Config.String(name)).pipe(
    Effect.map(Option.map((value) => value.trim())),
    Effect.map(Option.filter((value) => value.length > 0)),
    Effect.mapError((error) => new ConfigurationError({ variable: name, message: `${name}: ${error.message}` }))
  )

/** The error of a value a variable does not accept, naming the variable, the value and what it accepts. */
export const invalid = (name: string, value: string, accepted: string) =>
  new ConfigurationError({ variable: name, message: `${name}=${JSON.stringify(value)} is invalid: expected ${accepted}` })

const missing = (name: string, accepted: string) =>
  new ConfigurationError({ variable: name, message: `${name} is required: expected ${accepted}` })

type Parse<A> = (value: string) => Option.Option<A>

const make = <A>(name: string, accepted: string, parse: Parse<A>, fallback: Option.Option<A>, defaultText: string): Setting<A> => ({
  name,
  defaultText,
  read: raw(name).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Option.match(fallback, { onNone: () => Effect.fail(missing(name, accepted)), onSome: Effect.succeed }),
      onSome: (value) =>
        Option.match(parse(value), { onNone: () => Effect.fail(invalid(name, value, accepted)), onSome: Effect.succeed })
    }))
  )
})

/** A setting whose absence is a value of its own (none), not an error. */
const optionalOf = <A>(name: string, accepted: string, parse: Parse<A>): Setting<Option.Option<A>> =>
  make(name, accepted, (value) => Option.map(parse(value), Option.some), Option.some(Option.none()), "")

const parseString: Parse<string> = Option.some

const booleans: Record<string, boolean> = { true: true, yes: true, "1": true, false: false, no: false, "0": false }
const parseBoolean: Parse<boolean> = (value) => Option.fromNullishOr(booleans[value.toLowerCase()])
const booleanAccepted = "true, false, yes, no, 1 or 0 (any case)"

const parseInteger = (min: number, max: number): Parse<number> => (value) => {
  if (!/^[+-]?\d+$/.test(value)) return Option.none()
  const parsed = Number(value)
  return parsed >= min && parsed <= max ? Option.some(parsed) : Option.none()
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const parseUuid: Parse<string> = Option.liftPredicate((value: string) => uuidPattern.test(value))

const parseUrl: Parse<URL> = (value) => {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:" ? Option.some(url) : Option.none()
  } catch {
    return Option.none()
  }
}

const periodUnits: Record<string, (amount: number) => Duration.Duration> = { d: Duration.days, h: Duration.hours, m: Duration.minutes, s: Duration.seconds }

const parsePeriod: Parse<Duration.Duration> = (value) => {
  const match = /^(\d+)([dhms])$/.exec(value)
  const amount = Number(match?.[1] ?? 0)
  const unit = periodUnits[match?.[2] ?? ""]
  return unit === undefined || amount < 1 ? Option.none() : Option.some(unit(amount))
}

/** The constructors of settings; every one trims its value and reads an empty value as unset. */
export const Setting = {
  string: (name: string, options: { readonly default?: string; readonly accepted?: string } = {}): Setting<string> =>
    make(name, options.accepted ?? "a non-empty string", parseString, Option.fromUndefinedOr(options.default), options.default ?? ""),

  optionalString: (name: string): Setting<Option.Option<string>> => optionalOf(name, "a string", parseString),

  redacted: (name: string): Setting<Redacted.Redacted<string>> =>
    make(name, "a non-empty secret", (value) => Option.some(Redacted.make(value)), Option.none(), ""),

  optionalRedacted: (name: string): Setting<Option.Option<Redacted.Redacted<string>>> =>
    optionalOf(name, "a secret", (value) => Option.some(Redacted.make(value))),

  boolean: (name: string, fallback: boolean): Setting<boolean> =>
    make(name, booleanAccepted, parseBoolean, Option.some(fallback), String(fallback)),

  /** `true`/`false` (as `boolean`) or any other text (e.g. a path), which `accepted` describes. */
  booleanOrText: (name: string, fallback: boolean, accepted: string): Setting<boolean | string> =>
    make(name, `${booleanAccepted}, or ${accepted}`, (value) => Option.orElse(parseBoolean(value), () => Option.some(value)), Option.some(fallback), String(fallback)),

  /** A boolean whose absence means something of its own (a value taken from elsewhere). */
  optionalBoolean: (name: string): Setting<Option.Option<boolean>> => optionalOf(name, booleanAccepted, parseBoolean),

  integer: (name: string, options: { readonly default?: number; readonly min: number; readonly max?: number }): Setting<number> => {
    const max = options.max ?? Number.MAX_SAFE_INTEGER
    const accepted = options.max === undefined ? `an integer >= ${options.min}` : `an integer from ${options.min} to ${max}`
    return make(name, accepted, parseInteger(options.min, max), Option.fromUndefinedOr(options.default), options.default === undefined ? "" : String(options.default))
  },

  optionalInteger: (name: string, min: number): Setting<Option.Option<number>> =>
    optionalOf(name, `an integer >= ${min}`, parseInteger(min, Number.MAX_SAFE_INTEGER)),

  /** Whole seconds, read into a Duration. */
  seconds: (name: string, fallback: number): Setting<Duration.Duration> => {
    const setting = Setting.integer(name, { default: fallback, min: 1 })
    return { ...setting, read: Effect.map(setting.read, Duration.seconds) }
  },

  /** A period as the Python connectors write it (`30s`, `10m`, `12h`, `7d`), read into a Duration. */
  period: (name: string, fallback: string): Setting<Duration.Duration> =>
    make(name, "a whole number of days, hours, minutes or seconds, such as 30s, 10m, 12h or 7d", parsePeriod, parsePeriod(fallback), fallback),

  /** A UUID in its canonical 8-4-4-4-12 hexadecimal form (either case). */
  uuid: (name: string, accepted: string): Setting<string> => make(name, accepted, parseUuid, Option.none(), ""),

  url: (name: string): Setting<URL> => make(name, "an http:// or https:// URL", parseUrl, Option.none(), ""),

  /** One of a fixed set of values, compared case-insensitively, returned in its canonical spelling. */
  oneOf: <const L extends string>(name: string, values: ReadonlyArray<L>, fallback?: L): Setting<L> =>
    make(
      name,
      `one of ${values.join(", ")}`,
      (value) => Option.fromUndefinedOr(values.find((candidate) => candidate.toLowerCase() === value.toLowerCase())),
      Option.fromUndefinedOr(fallback),
      fallback ?? ""
    ),

  /** A comma-separated list; blank entries are dropped. */
  list: (name: string, fallback: ReadonlyArray<string>): Setting<ReadonlyArray<string>> =>
    make(
      name,
      "a comma-separated list of non-empty values",
      (value) => {
        const items = value.split(",").map((item) => item.trim()).filter((item) => item.length > 0)
        return items.length > 0 ? Option.some(items) : Option.none()
      },
      Option.some(fallback),
      fallback.join(",")
    )
}

export type SettingValues<S extends Record<string, Setting<unknown>>> = { readonly [K in keyof S]: S[K] extends Setting<infer A> ? A : never }

/** Reads every setting of a record of settings, failing on the first invalid one. */
export const readSettings = <S extends Record<string, Setting<unknown>>>(settings: S): Effect.Effect<SettingValues<S>, ConfigurationError> => {
  const reads: Record<string, Effect.Effect<unknown, ConfigurationError>> = {}
  for (const [key, setting] of Object.entries(settings)) reads[key] = setting.read
  // Effect.all keeps the keys; only their value types are lost through Object.entries.
  return Effect.all(reads) as Effect.Effect<SettingValues<S>, ConfigurationError>
}
