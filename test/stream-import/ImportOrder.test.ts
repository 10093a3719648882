import { assert, describe, it } from "vitest"
import { Result } from "effect"
import { planImport } from "../../src/stream-import/ImportOrder.js"

const folder = "opencti-stream/"
const key = (ms: number, n: number) => `${folder}stream_${ms}_${n}.json`

describe("planImport", () => {
  it("takes the objects after file_count in number order, not key order, and sets apart the ones already imported", () => {
    const plan = planImport(folder, 1, [key(900, 10), key(100, 1), key(500, 2), key(800, 3), ...Array.from({ length: 6 }, (_, index) => key(600 + index, index + 4))], "stop")
    assert.isTrue(Result.isSuccess(plan))
    if (Result.isFailure(plan)) return
    assert.deepStrictEqual(plan.success.imported.map((object) => object.fileNumber), [1])
    assert.deepStrictEqual(plan.success.pending.map((object) => object.fileNumber), [2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it("passes over folder markers and sub-folders, and other names when told to", () => {
    const keys = [folder, `${folder}sub/stream_1_5.json`, "elsewhere/stream_1_9.json", `${folder}README.txt`, key(1, 1)]
    assert.deepStrictEqual(Result.map(planImport(folder, 0, keys, "ignore"), (plan) => plan.pending.map((object) => object.key)), Result.succeed([key(1, 1)]))
    assert.deepStrictEqual(planImport(folder, 0, keys, "stop"), Result.fail(`expected object 1 (${folder}stream_<ms>_1.json) next, found ${folder}README.txt, which is not named stream_<ms>_<n>.json`))
  })

  it("refuses a gap and a repeated number, naming what was expected and what was found", () => {
    assert.deepStrictEqual(planImport(folder, 4, [key(1, 5), key(2, 8)], "stop"), Result.fail(`expected object 6 next, found ${key(2, 8)} (object 8): objects 6 to 7 are missing`))
    assert.deepStrictEqual(planImport(folder, 4, [key(1, 6)], "stop"), Result.fail(`expected object 5 next, found ${key(1, 6)} (object 6): object 5 is missing`))
    assert.deepStrictEqual(planImport(folder, 0, [key(1, 1), key(2, 1)], "stop"), Result.fail(`object number 1 appears twice: ${key(1, 1)} and ${key(2, 1)}`))
  })
})
