import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import { Setting } from "../../src/config/Setting.js"
import type { ConfigurationError } from "../../src/config/Setting.js"

const withEnv = (env: Record<string, string>) => Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

const failure = <A>(read: Effect.Effect<A, ConfigurationError>, env: Record<string, string>) =>
  Effect.flip(read.pipe(withEnv(env)))

describe("Setting", () => {
  it.effect.each([
    ["true", true], ["TRUE", true], ["Yes", true], ["1", true],
    ["false", false], ["FALSE", false], ["no", false], ["0", false]
  ] as const)("reads the boolean %s as %s", ([text, expected]) =>
    Effect.gen(function*() {
      const value = yield* Setting.boolean("S3_DELETE_AFTER_IMPORT", !expected).read.pipe(withEnv({ S3_DELETE_AFTER_IMPORT: text }))
      assert.strictEqual(value, expected)
    }))

  it.effect("refuses a boolean it does not know, naming the variable and the accepted values", () =>
    Effect.gen(function*() {
      const error = yield* failure(Setting.boolean("S3_DELETE_AFTER_IMPORT", true).read, { S3_DELETE_AFTER_IMPORT: "on" })
      assert.strictEqual(error.variable, "S3_DELETE_AFTER_IMPORT")
      assert.include(error.message, "S3_DELETE_AFTER_IMPORT=\"on\"")
      assert.include(error.message, "true, false, yes, no, 1 or 0")
    }))

  it.effect("uses the default when the variable is unset or empty", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Setting.integer("S3_INTERVAL", { default: 30, min: 1 }).read.pipe(withEnv({})), 30)
      assert.strictEqual(yield* Setting.integer("S3_INTERVAL", { default: 30, min: 1 }).read.pipe(withEnv({ S3_INTERVAL: "  " })), 30)
    }))

  it.effect("names a missing required variable", () =>
    Effect.gen(function*() {
      const error = yield* failure(Setting.url("OPENCTI_URL").read, {})
      assert.strictEqual(error.message, "OPENCTI_URL is required: expected an http:// or https:// URL")
    }))

  it.effect("refuses integers out of range or with a fraction", () =>
    Effect.gen(function*() {
      const setting = Setting.integer("S3_INTERVAL", { default: 30, min: 1 })
      assert.include((yield* failure(setting.read, { S3_INTERVAL: "0" })).message, "an integer >= 1")
      assert.include((yield* failure(setting.read, { S3_INTERVAL: "1.5" })).message, "S3_INTERVAL=\"1.5\"")
    }))

  it.effect("reads seconds as a Duration", () =>
    Effect.gen(function*() {
      const value = yield* Setting.seconds("S3_INTERVAL", 30).read.pipe(withEnv({ S3_INTERVAL: "45" }))
      assert.isTrue(Duration.equals(value, Duration.seconds(45)))
    }))

  it.effect("matches one-of values in any case and returns the canonical spelling", () =>
    Effect.gen(function*() {
      const marking = Setting.oneOf("S3_MARKING", ["TLP:CLEAR", "TLP:AMBER+STRICT"], "TLP:CLEAR")
      assert.strictEqual(yield* marking.read.pipe(withEnv({ S3_MARKING: "tlp:amber+strict" })), "TLP:AMBER+STRICT")
      const error = yield* failure(marking.read, { S3_MARKING: "TLP:PURPLE" })
      assert.include(error.message, "one of TLP:CLEAR, TLP:AMBER+STRICT")
    }))

  it.effect("accepts a UUID in either case and refuses anything else, naming the variable", () =>
    Effect.gen(function*() {
      const id = Setting.uuid("CONNECTOR_ID", "a UUID identifying this connector")
      assert.strictEqual(yield* id.read.pipe(withEnv({ CONNECTOR_ID: "2F0C7A3E-6d1b-4c55-9f3e-0a8e4c1d2b3a" })), "2F0C7A3E-6d1b-4c55-9f3e-0a8e4c1d2b3a")
      for (const value of ["ChangeMe", "2f0c7a3e6d1b4c559f3e0a8e4c1d2b3a", "2f0c7a3e-6d1b-4c55-9f3e-0a8e4c1d2b3a-x"]) {
        const error = yield* failure(id.read, { CONNECTOR_ID: value })
        assert.strictEqual(error.message, `CONNECTOR_ID=${JSON.stringify(value)} is invalid: expected a UUID identifying this connector`)
      }
    }))

  it.effect("splits lists on commas and trims the entries", () =>
    Effect.gen(function*() {
      const value = yield* Setting.list("S3_BUCKET_PREFIXES", ["ACI_TI"]).read.pipe(withEnv({ S3_BUCKET_PREFIXES: " a/ , b ,," }))
      assert.deepStrictEqual(value, ["a/", "b"])
    }))

  it.effect("keeps secrets redacted and optional values optional", () =>
    Effect.gen(function*() {
      const secret = yield* Setting.redacted("OPENCTI_TOKEN").read.pipe(withEnv({ OPENCTI_TOKEN: "s3cret" }))
      assert.strictEqual(Redacted.value(secret), "s3cret")
      assert.notInclude(String(secret), "s3cret")
      assert.isTrue(Option.isNone(yield* Setting.optionalString("S3_AUTHOR").read.pipe(withEnv({}))))
    }))
})
