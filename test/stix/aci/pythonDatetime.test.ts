import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { fromIsoFormat, isLater } from "../../../src/stix/aci/pythonDatetime.js"

/** `platform > received` as the outdated check computes it, after Python's `replace("Z", "+00:00")`. */
const compare = (platform: string, received: string): Result.Result<boolean, string> =>
  Result.all([fromIsoFormat(platform.replaceAll("Z", "+00:00")), fromIsoFormat(received.replaceAll("Z", "+00:00"))])
    .pipe(Result.flatMap(([left, right]) => isLater(left, right)))

describe("Python datetime.fromisoformat and >", () => {
  it.each([
    ["2024-06-01T09:30:00.000Z", "2024-05-31T23:00:00.000Z", true],
    ["2023-10-31T23:59:59.999Z", "2024-01-01T00:00:00.000Z", false],
    ["2024-03-04T15:00:00.000+00:00", "2024-03-04T15:00:00Z", false],
    ["2024-04-24T13:30:00+02:00", "2024-04-24T12:00:00.000Z", false],
    ["2024-04-24T14:30:00+02:00", "2024-04-24T12:00:00.000Z", true],
    ["20240424T143000+0200", "2024-04-24T12:00:00Z", true],
    ["2024-04-24 12:00:00.0000019Z", "2024-04-24T12:00:00.000001Z", false],
    ["2024-04-24T12:00:00.000002Z", "2024-04-24T12:00:00.000001Z", true],
    ["2024-04-25", "2024-04-24T23:59:59", true],
    ["2024-04-24T12:00:00-00:30", "2024-04-24T12:20:00Z", true]
  ])("%s > %s is %s", (platform, received, expected) => {
    assert.deepStrictEqual(compare(platform, received), Result.succeed(expected))
  })

  const invalid = (text: string) => `ValueError: Invalid isoformat string: '${text}'`
  const naiveVsAware = "TypeError: can't compare offset-naive and offset-aware datetimes"

  it.each([
    ["2024-07-01T00:00:00", "2024-06-20T00:00:00.000Z", naiveVsAware],
    ["yesterday", "2024-06-20T00:00:00.000Z", invalid("yesterday")],
    ["2024-06-20T00:00:00.000Z", "13/06/2024", invalid("13/06/2024")],
    ["2024-02-30T00:00:00Z", "2024-06-20T00:00:00Z", invalid("2024-02-30T00:00:00+00:00")],
    ["2024-06-20T24:00:00Z", "2024-06-20T00:00:00Z", invalid("2024-06-20T24:00:00+00:00")],
    ["2024-06-20T12:00:00+24:00", "2024-06-20T00:00:00Z", invalid("2024-06-20T12:00:00+24:00")],
    ["2024-06-20T12:30.5Z", "2024-06-20T00:00:00Z", invalid("2024-06-20T12:30.5+00:00")]
  ])("%s > %s raises", (platform, received, message) => {
    assert.deepStrictEqual(compare(platform, received), Result.fail(message))
  })
})
