import { assert, describe, it } from "vitest"
import { readFileSync } from "node:fs"

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8")
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line.length > 0 && !line.startsWith("#"))
  .map((line) => {
    const [keyword = "", ...rest] = line.split(/\s+/)
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") }
  })

const all = (keyword: string) => instructions.filter((instruction) => instruction.keyword === keyword)
const stages = all("FROM")
const finalStageStart = instructions.lastIndexOf(stages[stages.length - 1] ?? { keyword: "", args: "" })
const finalStage = instructions.slice(finalStageStart)

describe("Dockerfile", () => {
  it("is multi-stage, every stage on a pinned Node.js LTS (even major) image", () => {
    assert.isAtLeast(stages.length, 2)
    for (const stage of stages) {
      const image = /^(?:--platform=\S+\s+)?node:(\d+)[-\w.]*/.exec(stage.args)
      assert.isNotNull(image, `FROM ${stage.args}`)
      assert.strictEqual(Number(image?.[1]) % 2, 0, `FROM ${stage.args} is not an LTS line`)
      assert.notInclude(stage.args, ":latest")
    }
  })

  it("runs the bundle: the runtime stage copies dist/ from the build and no node_modules, and installs nothing", () => {
    const copies = finalStage.filter((instruction) => instruction.keyword === "COPY")
    assert.isTrue(copies.some((copy) => /--from=\S+ .*\/app\/dist /.test(copy.args)), "dist/ comes from the build stage")
    assert.isFalse(copies.some((copy) => copy.args.includes("node_modules")))
    assert.isFalse(finalStage.some((instruction) => instruction.keyword === "RUN" && /npm (ci|install)/.test(instruction.args)))
  })

  it("runs as a non-root user", () => {
    const users = finalStage.filter((instruction) => instruction.keyword === "USER")
    assert.isAtLeast(users.length, 1)
    assert.notMatch(users[users.length - 1]?.args ?? "root", /^(root|0)(:|$)/)
  })

  it("starts the CLI in exec form, s3-import by default, with a health check", () => {
    assert.strictEqual(all("ENTRYPOINT").at(-1)?.args, "[\"node\", \"dist/main.js\"]")
    assert.strictEqual(all("CMD").at(-1)?.args, "[\"s3-import\"]")
    const healthcheck = all("HEALTHCHECK").at(-1)?.args ?? ""
    assert.include(healthcheck, "/healthz")
    assert.match(healthcheck, /CMD \[/)
  })

  it("turns on the health endpoints its health check asks, which are off outside the image", () => {
    assert.isTrue(finalStage.some((instruction) => instruction.keyword === "ENV" && /(^|\s)CONNECTOR_EXPOSE_HEALTH=true(\s|$)/.test(instruction.args)))
  })

  it("fetches nothing with ADD and keeps apt installs minimal", () => {
    assert.deepStrictEqual(all("ADD"), [])
    for (const run of all("RUN").filter((instruction) => instruction.args.includes("apt-get install"))) {
      assert.include(run.args, "--no-install-recommends")
    }
  })
})
