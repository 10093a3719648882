import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { AciPlatform } from "../../../src/stix/aci/AciPlatform.js"
import { adjustedExpectation } from "./deviations.js"
import { loadCase, platformOf } from "./goldenCases.js"
import { runCase, sentBundle } from "./runCase.js"

const failingVulnerabilities = (platform: AciPlatform<unknown>): AciPlatform<unknown> => ({
  ...platform,
  vulnerabilitiesModifiedAt: () => Effect.fail(new Error("GraphQL error: ForbiddenAccess"))
})

const failingNotes = (platform: AciPlatform<unknown>): AciPlatform<unknown> => ({
  ...platform,
  existingNoteAbstracts: () => Effect.fail(new Error("timed out"))
})

describe("platform look-ups", () => {
  it.effect("asks about all vulnerabilities of a large bundle in one round trip, each standard id once", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("large-bundle")
      const { calls, platform } = platformOf(goldenCase.spec)
      yield* runCase(goldenCase, platform)
      assert.strictEqual(calls.vulnerabilities.length, 1)
      const [ids = []] = calls.vulnerabilities
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.isAtLeast(ids.length, 100)
    }))

  it.effect("asks about every note abstract of non-CVE objects in one round trip", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("notes-non-cve-note-absent")
      const { calls, platform } = platformOf(goldenCase.spec)
      yield* runCase(goldenCase, platform)
      assert.strictEqual(calls.notes.length, 1)
      assert.strictEqual(goldenCase.asked.noteAbstracts.size, 4)
      assert.deepStrictEqual(new Set(calls.notes[0]), goldenCase.asked.noteAbstracts)
    }))

  it.effect("does not ask about notes of CVE-named objects, nor at all when there is nothing to ask", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("notes-cve")
      const { calls, platform } = platformOf(goldenCase.spec)
      yield* runCase(goldenCase, platform)
      assert.strictEqual(calls.notes.length, 0)
    }))

  it.effect("keeps every vulnerability, with a warning, when the vulnerability look-up fails", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("all-vulns-outdated-nothing-left")
      const { platform } = platformOf(goldenCase.spec)
      const { exit, logs } = yield* runCase(goldenCase, failingVulnerabilities(platform))
      const bundle = sentBundle(exit)
      assert.sameMembers(
        bundle.objects?.map((object) => object.type) ?? [],
        ["vulnerability", "vulnerability", "relationship"]
      )
      assert.isTrue(
        logs.some((log) =>
          log.level === "warning" && log.message.includes("GraphQL error: ForbiddenAccess") &&
          log.message.includes("KEPT")
        )
      )
    }))

  it.effect("counts every abstract as an existing note, with a warning, when the note look-up fails", () =>
    Effect.gen(function*() {
      const absent = loadCase("notes-non-cve-note-absent")
      const exists = loadCase("notes-non-cve-note-exists")
      const { platform } = platformOf(absent.spec)
      const { exit, logs } = yield* runCase(absent, failingNotes(platform))
      const bundle = sentBundle(exit)
      const expected = adjustedExpectation(exists, exists.expected)
      assert.deepStrictEqual({ ...bundle, id: expected.id }, expected)
      assert.isTrue(logs.some((log) => log.level === "warning" && log.message.includes("timed out")))
    }))

  it.effect("keeps a vulnerability whose timestamps cannot be compared, with the reference's warning", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("platform-lookup-errors")
      const { platform } = platformOf(goldenCase.spec)
      const { logs } = yield* runCase(goldenCase, platform)
      const comparisonWarnings = goldenCase.expectedLog.filter((log) => !log.message.includes("ConnectionError"))
      assert.strictEqual(comparisonWarnings.length, 3)
      assert.deepStrictEqual(
        logs.filter((log) => log.level === "warning").map(({ level, message }) => ({ level, message })),
        comparisonWarnings
      )
    }))

  it.effect("vuln-without-name-crash: a nameless vulnerability rejects the file before any look-up, naming it", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("vuln-without-name-crash")
      const { calls, platform } = platformOf(goldenCase.spec)
      const { exit } = yield* runCase(goldenCase, platform)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(Option.isSome(error))
        if (Option.isSome(error)) {
          assert.strictEqual(error.value._tag, "BundleParseError")
          assert.include(error.value.message, "vulnerability--90b0c0df-1e06-4d89-a088-bea0196041a5")
          assert.include(error.value.message, "name")
        }
      }
      assert.strictEqual(calls.vulnerabilities.length + calls.notes.length, 0)
    }))
})

describe("logs", () => {
  it.effect("reports an unmapped custom key at error level, annotated with the file key, object and key", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("unmapped-custom-keys")
      const { platform } = platformOf(goldenCase.spec)
      const { logs } = yield* runCase(goldenCase, platform)
      const unmapped = logs.filter((log) => log.message.startsWith("Found non-mapped custom key: "))
      assert.isAtLeast(unmapped.length, 1)
      for (const log of unmapped) {
        assert.strictEqual(log.level, "error")
        assert.strictEqual(log.annotations["key"], goldenCase.spec.config.file_key)
        assert.match(String(log.annotations["stixId"]), /^[a-z-]+--/)
        assert.strictEqual(log.message, `Found non-mapped custom key: ${String(log.annotations["customKey"])}`)
      }
    }))

  it.effect("warns about each relationship dropped because an end is not in the bundle", () =>
    Effect.gen(function*() {
      const goldenCase = loadCase("orphan-relationships")
      const { platform } = platformOf(goldenCase.spec)
      const { logs } = yield* runCase(goldenCase, platform)
      const warnings = logs.filter((log) => log.level === "warning").map(({ level, message }) => ({ level, message }))
      assert.deepStrictEqual(warnings, goldenCase.expectedLog.filter((log) => log.level === "warning"))
      assert.isAtLeast(warnings.length, 2)
    }))
})
