import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { flattenYaml, makeConfigSource } from "../../src/config/ConfigSource.js"
import { Setting } from "../../src/config/Setting.js"

const yamlFile = (text: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(join(tmpdir(), "config-"))
      const path = join(dir, "config.yml")
      await writeFile(path, text)
      return { dir, path }
    }),
    ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

const readWith = (provider: ConfigProvider.ConfigProvider) => <A>(setting: Setting<A>) => setting.read.pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))

describe("ConfigSource", () => {
  it("flattens two-level YAML keys into environment names", () => {
    assert.deepStrictEqual(
      flattenYaml({ s3: { bucket_name: "feed", interval: 30, delete_after_import: false, bucket_prefixes: ["A", "B"] }, opencti: null }),
      { S3_BUCKET_NAME: "feed", S3_INTERVAL: "30", S3_DELETE_AFTER_IMPORT: "false", S3_BUCKET_PREFIXES: "A,B" }
    )
  })

  it.effect("lets the environment win over config.yml, and an empty variable fall back to it", () =>
    Effect.gen(function*() {
      const { path } = yield* yamlFile("s3:\n  bucket_name: from-yaml\n  region: eu-west-3\n")
      const source = yield* makeConfigSource({ CONFIG_FILE: path, S3_BUCKET_NAME: "from-env", S3_REGION: "" })
      const read = readWith(source.provider)
      assert.deepStrictEqual(source.file, Option.some(path))
      assert.strictEqual(yield* read(Setting.string("S3_BUCKET_NAME")), "from-env")
      assert.strictEqual(yield* read(Setting.string("S3_REGION")), "eu-west-3")
    }))

  it.effect("fails on a named CONFIG_FILE that does not exist", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeConfigSource({ CONFIG_FILE: "/nonexistent/config.yml" }))
      assert.strictEqual(error.variable, "CONFIG_FILE")
      assert.include(error.message, "/nonexistent/config.yml")
    }))

  it.effect("finds config.yml in the app directory, where the Python images read it, when the working directory has none", () =>
    Effect.gen(function*() {
      const app = yield* yamlFile("s3:\n  bucket_name: from-app-dir\n")
      const source = yield* makeConfigSource({}, app.dir)
      assert.deepStrictEqual(source.file, Option.some(app.path))
      assert.strictEqual(yield* readWith(source.provider)(Setting.string("S3_BUCKET_NAME")), "from-app-dir")
    }))

  it.effect("reads no file when there is none, and says so", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "config-empty-")))
      const source = yield* makeConfigSource({}, empty)
      yield* Effect.promise(() => rm(empty, { recursive: true, force: true }))
      assert.isTrue(Option.isNone(source.file))
    }))
})
