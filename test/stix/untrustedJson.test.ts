import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { cloneJson, maxDepth, numericValue, parseUntrusted } from "../../src/stix/untrustedJson.js"

const parsed = (text: string): unknown => {
  const result = parseUntrusted(text)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const refusal = (text: string): string => {
  const result = parseUntrusted(text)
  return Result.isFailure(result) ? result.failure.message : "accepted"
}

describe("parseUntrusted", () => {
  it("keeps the exact text of every number a double would change", () => {
    const text = "{\"big\":12345678901234567890,\"huge\":1e400,\"negativeZero\":-0,\"float\":1.0,\"small\":1e-7,\"plain\":[1,2.5,-3,0],\"long\":0.10000000000000000555}"
    assert.strictEqual(JSON.stringify(parsed(text)), text)
  })

  it("reads plain numbers as numbers and compares kept ones by value", () => {
    const value = parsed("{\"a\":4,\"b\":4.0}") as { readonly a: unknown; readonly b: unknown }
    assert.strictEqual(value.a, 4)
    assert.strictEqual(numericValue(value.b), 4)
    assert.strictEqual(numericValue("4"), "4")
  })

  it("does not take numbers inside strings for numbers", () => {
    const text = "{\"t\":\"2024-01-01T00:00:00.000Z\",\"n\":\"1.0\"}"
    assert.deepStrictEqual(parsed(text), { t: "2024-01-01T00:00:00.000Z", n: "1.0" })
  })

  it.each([
    ["nesting past the limit", `${"[".repeat(maxDepth + 1)}${"]".repeat(maxDepth + 1)}`, `nested deeper than ${maxDepth} levels`],
    ["a __proto__ member", "{\"objects\":[{\"__proto__\":{\"x\":1}}]}", "a member is named __proto__"],
    ["an escaped __proto__ member", "{\"\\u005f_proto__\":1}", "a member is named __proto__"],
    ["a duplicate member", "{\"type\":\"bundle\",\"type\":\"report\"}", "the same member name twice"],
    ["a duplicate member deep down", "{\"objects\":[{\"id\":\"a\",\"x\":{\"k\":1,\"k\":2}}]}", "the same member name twice"],
    ["trailing garbage", "{\"type\":\"bundle\"} trailing", "not a JSON document: SyntaxError"],
    ["NaN", "{\"x\":NaN}", "not a JSON document: SyntaxError"],
    ["Infinity", "{\"x\":-Infinity}", "not a JSON document: SyntaxError"]
  ])("refuses %s", (_name, text, reason) => {
    assert.include(refusal(text), reason)
  })

  it("accepts nesting up to the limit, names with escaped quotes, and the same name in different objects", () => {
    assert.notStrictEqual(parsed(`${"[".repeat(maxDepth)}${"]".repeat(maxDepth)}`), undefined)
    assert.deepStrictEqual(parsed("{\"a\\\"\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}"), { "a\"": { a: 1 }, b: [{ a: 2 }, { a: 3 }] })
  })
})

describe("cloneJson", () => {
  it("copies deeply and keeps numbers kept as text", () => {
    const value = parsed("{\"a\":[{\"b\":1.0}],\"c\":\"d\"}") as { a: Array<{ b: unknown }> }
    const copy = cloneJson(value)
    assert.notStrictEqual(copy.a[0], value.a[0])
    assert.strictEqual(JSON.stringify(copy), "{\"a\":[{\"b\":1.0}],\"c\":\"d\"}")
  })
})
