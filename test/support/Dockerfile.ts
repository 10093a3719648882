import { readFileSync } from "node:fs"

export interface Instruction {
  readonly keyword: string
  readonly args: string
}

export interface Stage {
  /** `FROM <base> [AS <name>]`: an image, or an earlier stage's name. */
  readonly base: string
  readonly name: string | undefined
  readonly instructions: ReadonlyArray<Instruction>
}

/** The project's Dockerfile as stages of instructions, continuation lines joined, comments dropped. */
export const dockerfileStages = (): ReadonlyArray<Stage> => {
  const instructions = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"))
    .map((line): Instruction => {
      const [keyword = "", ...rest] = line.split(/\s+/)
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") }
    })
  const stages: Array<{ base: string; name: string | undefined; instructions: Array<Instruction> }> = []
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [, base = "", name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? []
      stages.push({ base, name, instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** The instructions a target runs with: its own after those of the stages it is built on. */
export const targetInstructions = (stages: ReadonlyArray<Stage>, target: Stage): ReadonlyArray<Instruction> => {
  const parent = stages.find((stage) => stage.name !== undefined && stage.name === target.base)
  return parent === undefined ? target.instructions : [...targetInstructions(stages, parent), ...target.instructions]
}

/** The exec-form arguments of the last `keyword` (ENTRYPOINT, CMD) of these instructions; none when absent. */
export const execForm = (instructions: ReadonlyArray<Instruction>, keyword: string): ReadonlyArray<string> | undefined => {
  const last = instructions.filter((instruction) => instruction.keyword === keyword).at(-1)
  return last === undefined ? undefined : (JSON.parse(last.args) as ReadonlyArray<string>)
}
