import { assert, describe, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { randomUuid } from "../../src/stix/randomUuid.js"

describe("randomUuid", () => {
  it.effect("makes version 4 UUIDs from the Random service, the same ones for the same seed", () =>
    Effect.gen(function*() {
      const twice = Effect.all([randomUuid, randomUuid])
      const [first, second] = yield* twice.pipe(Random.withSeed("bundles"))
      assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.notStrictEqual(first, second)
      assert.deepStrictEqual(yield* twice.pipe(Random.withSeed("bundles")), [first, second])
    }))
})
