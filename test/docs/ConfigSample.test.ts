import { assert, describe, it } from "vitest"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { flattenYaml } from "../../src/config/ConfigSource.js"
import { readmeTable } from "./readmeTables.js"

const documented = new Set(["common", "s3-import", "amqp", "stream-export", "stream-import"].flatMap((table) => [...readmeTable(table).keys()]))

/** The sample with its commented-out sections switched on. */
const sample = readFileSync(new URL("../../config.yml.sample", import.meta.url), "utf8")
const uncommented = sample.replace(/^#(?=[a-z]|\s\s)/gm, "")

describe("config.yml.sample", () => {
  it("names only documented variables, in both its active and its commented-out sections", () => {
    for (const text of [sample, uncommented]) {
      const unknown = Object.keys(flattenYaml(parse(text))).filter((variable) => !documented.has(variable))
      assert.deepStrictEqual(unknown, [])
    }
  })
})
