import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { StixBundle } from "../../../src/stix/Bundle.js"
import { adjustedExpectation, d5HistoryNullTimestamp } from "./deviations.js"
import { caseNames, type GoldenCase, isBundleDocument, loadCase, type LogRecord, platformOf } from "./goldenCases.js"
import { runCase, sentBundle } from "./runCase.js"

type Expectation =
  | { readonly _tag: "ParseFailure"; readonly why: string }
  | { readonly _tag: "NothingToSend" }
  | { readonly _tag: "Bundle"; readonly bundle: StixBundle }

/** What the project must answer for a case, from what the reference answered and D1-D6. */
const expectationOf = (goldenCase: GoldenCase): Expectation => {
  if (!isBundleDocument(goldenCase.bytes)) {
    return { _tag: "ParseFailure", why: "D4: not a JSON object of type bundle, the file stays in the bucket" }
  }
  if (goldenCase.expected !== null) {
    return { _tag: "Bundle", bundle: adjustedExpectation(goldenCase, goldenCase.expected) }
  }
  if (goldenCase.name === "history-null-timestamp-crash") {
    return { _tag: "Bundle", bundle: d5HistoryNullTimestamp(goldenCase) }
  }
  if (Option.isSome(goldenCase.expectedException)) {
    const raised = goldenCase.expectedException.value.type
    return {
      _tag: "ParseFailure",
      why: `an object lacks a field the transformation needs (the reference raised ${raised}), the file stays`
    }
  }
  return { _tag: "NothingToSend" }
}

const BUNDLE_ID = /^bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The messages logged with the same text as the reference's: unmapped keys, orphans, empty bundles. */
const isComparableLog = (record: LogRecord): boolean =>
  (record.level === "error" || record.level === "warning") &&
  (record.message.startsWith("Found non-mapped custom key: ") ||
    record.message.startsWith("Removing relationship from ") ||
    record.message.startsWith("Removing relationship to ") ||
    record.message === "Bundle has no objects to process")

const describeExpectation = (expectation: Expectation): string => {
  switch (expectation._tag) {
    case "ParseFailure":
      return `rejected: ${expectation.why}`
    case "NothingToSend":
      return "nothing to send"
    case "Bundle":
      return `${expectation.bundle.objects?.length ?? 0} objects`
  }
}

const rows = caseNames.map((name) => {
  const goldenCase = loadCase(name)
  const expectation = expectationOf(goldenCase)
  return { title: `${name} -> ${describeExpectation(expectation)}`, goldenCase, expectation }
})

describe("ACI transformation against the golden vectors", () => {
  it("has every shared case", () => {
    assert.isAtLeast(rows.length, 47)
  })

  it.effect.each(rows)("$title", ({ expectation, goldenCase }) =>
    Effect.gen(function*() {
      const { calls, platform } = platformOf(goldenCase.spec)
      const { exit, logs } = yield* runCase(goldenCase, platform)
      assert.isAtMost(calls.vulnerabilities.length, 1, "vulnerability look-ups")
      assert.isAtMost(calls.notes.length, 1, "note look-ups")
      if (expectation._tag !== "ParseFailure") {
        assert.deepStrictEqual(new Set(calls.vulnerabilities.flat()), goldenCase.asked.vulnerabilityIds)
        assert.deepStrictEqual(new Set(calls.notes.flat()), goldenCase.asked.noteAbstracts)
      }
      switch (expectation._tag) {
        case "ParseFailure": {
          assert.isTrue(Exit.isFailure(exit), "expected a parse failure")
          if (Exit.isFailure(exit)) {
            const error = Cause.findErrorOption(exit.cause)
            assert.isTrue(Option.isSome(error) && error.value._tag === "BundleParseError", Cause.pretty(exit.cause))
          }
          return
        }
        case "NothingToSend": {
          assert.deepStrictEqual(exit, Exit.succeed(Option.none()))
          break
        }
        case "Bundle": {
          const bundle = sentBundle(exit)
          assert.match(bundle.id ?? "", BUNDLE_ID)
          assert.deepStrictEqual({ ...bundle, id: expectation.bundle.id }, expectation.bundle)
          break
        }
      }
      assert.deepStrictEqual(
        logs.filter(isComparableLog).map(({ level, message }) => ({ level, message })),
        goldenCase.expectedLog.filter(isComparableLog)
      )
    }))
})
