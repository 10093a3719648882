import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { compare, epochMillis, IdTrail, isLiveStreamId, LiveStreamId } from "../../src/opencti/LiveStreamId.js"

describe("LiveStreamId", () => {
  it.each([
    { name: "the schema", is: Schema.is(LiveStreamId) },
    { name: "the check of each event", is: isLiveStreamId }
  ])("accepts Redis stream ids and the beginning, nothing else: $name", ({ is }) => {
    assert.deepStrictEqual(["0", "0-0", "1700000000000-12"].map((id) => is(id)), [true, true, true])
    assert.deepStrictEqual(["", "live", "2024-05-01T00:00:00Z", "1-2-3", "-1"].map((id) => is(id)), [false, false, false, false, false])
  })

  it("orders ids by time, then sequence", () => {
    assert.isBelow(compare("1700000000000-9", "1700000000001-0"), 0)
    assert.isBelow(compare("1700000000000-2", "1700000000000-10"), 0)
    assert.strictEqual(compare("0", "0-0"), 0)
    assert.strictEqual(epochMillis("1700000000123-4"), 1700000000123)
  })

  it.each([
    { name: "no ids: the previous point", previous: "5-0", ids: [], expected: "5-0" },
    { name: "distinct ids: before the last one", previous: "5-0", ids: ["6-0", "7-0", "8-0"], expected: "7-0" },
    { name: "a single id: the previous point", previous: "5-0", ids: ["6-0"], expected: "5-0" },
    { name: "a trailing group sharing one id: before the group", previous: "5-0", ids: ["6-0", "7-0", "7-0", "7-0"], expected: "6-0" },
    { name: "one group only: the previous point", previous: "5-0", ids: ["7-0", "7-0"], expected: "5-0" },
    { name: "ids out of order (recovery): the earlier", previous: "5-0", ids: ["9-0", "8-0"], expected: "8-0" },
    { name: "one run after another id: right after that id", previous: "4-0", last: "5-0", ids: ["6-0"], expected: "5-0" },
    { name: "one run that goes on from before: the previous point", previous: "4-0", last: "6-0", ids: ["6-0", "6-0"], expected: "4-0" },
    { name: "runs of their own: the last run only", previous: "4-0", last: "5-0", ids: ["6-0", "7-0"], expected: "6-0" }
  ])("resume point: $name", ({ previous, last, ids, expected }) => {
    const trail = new IdTrail()
    for (const id of ids) trail.add(id)
    assert.strictEqual(trail.resumePoint({ resumePoint: previous, last }), expected)
    assert.strictEqual(trail.last, ids.at(-1))
  })
})
