import { assert, describe, it } from "vitest"
import { dockerfileStages, execForm, targetInstructions } from "../support/Dockerfile.js"
import type { Stage } from "../support/Dockerfile.js"

const stages = dockerfileStages()
const stageNames = new Set(stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name])))
const imageStages = stages.filter((stage) => !stageNames.has(stage.base))
const defaultTarget: Stage = stages[stages.length - 1] ?? { base: "", name: undefined, instructions: [] }
const targets = stages.filter((stage) => stageNames.has(stage.base))
const runtimeOf = (target: Stage) => targetInstructions(stages, target)

describe("Dockerfile", () => {
  it("is multi-stage, every stage built on an image on a pinned Node.js LTS (even major) image", () => {
    assert.isAtLeast(imageStages.length, 2)
    for (const stage of imageStages) {
      const image = /^node:(\d+)[-\w.]*/.exec(stage.base)
      assert.isNotNull(image, `FROM ${stage.base}`)
      assert.strictEqual(Number(image?.[1]) % 2, 0, `FROM ${stage.base} is not an LTS line`)
      assert.notInclude(stage.base, ":latest")
    }
  })

  it("runs the bundle: the runtime copies dist/ from the build and no node_modules, and installs nothing", () => {
    const runtime = runtimeOf(defaultTarget)
    const copies = runtime.filter((instruction) => instruction.keyword === "COPY")
    assert.isTrue(copies.some((copy) => /--from=\S+ .*\/app\/dist /.test(copy.args)), "dist/ comes from the build stage")
    assert.isFalse(copies.some((copy) => copy.args.includes("node_modules")))
    assert.isFalse(runtime.some((instruction) => instruction.keyword === "RUN" && /npm (ci|install)/.test(instruction.args)))
  })

  it("runs every target as a non-root user, with a health check", () => {
    for (const target of [defaultTarget, ...targets]) {
      const runtime = runtimeOf(target)
      const user = runtime.filter((instruction) => instruction.keyword === "USER").at(-1)?.args ?? "root"
      assert.notMatch(user, /^(root|0)(:|$)/, `target ${target.name}`)
      const healthcheck = runtime.filter((instruction) => instruction.keyword === "HEALTHCHECK").at(-1)?.args ?? ""
      assert.include(healthcheck, "/healthz")
      assert.match(healthcheck, /CMD \[/)
    }
  })

  it("starts the CLI in exec form: by default without a command (the environment chooses), one target per connector with its command", () => {
    assert.deepStrictEqual(execForm(runtimeOf(defaultTarget), "ENTRYPOINT"), ["node", "dist/main.js"])
    assert.isUndefined(execForm(runtimeOf(defaultTarget), "CMD"))
    const connectorTargets = targets.filter((target) => target !== defaultTarget)
    assert.includeMembers(connectorTargets.map((target) => target.name), ["s3-import", "stream-export"])
    for (const target of connectorTargets) {
      assert.deepStrictEqual(execForm(runtimeOf(target), "ENTRYPOINT"), ["node", "dist/main.js"])
      assert.deepStrictEqual(execForm(runtimeOf(target), "CMD"), [target.name ?? ""])
    }
  })

  it("turns on the health endpoints its health check asks, which are off outside the image", () => {
    assert.isTrue(runtimeOf(defaultTarget).some((instruction) => instruction.keyword === "ENV" && /(^|\s)CONNECTOR_EXPOSE_HEALTH=true(\s|$)/.test(instruction.args)))
  })

  it("fetches nothing with ADD and keeps apt installs minimal", () => {
    const all = stages.flatMap((stage) => stage.instructions)
    assert.deepStrictEqual(all.filter((instruction) => instruction.keyword === "ADD"), [])
    for (const run of all.filter((instruction) => instruction.keyword === "RUN" && instruction.args.includes("apt-get install"))) {
      assert.include(run.args, "--no-install-recommends")
    }
  })
})
