import { readFileSync } from "node:fs"

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")

/**
 * The rows of the README table that follows `<!-- settings: name -->`: variable name to its default
 * cell (backticks removed, "" for —).
 */
export const readmeTable = (name: string): Map<string, string> => {
  const start = readme.indexOf(`<!-- settings: ${name} -->`)
  if (start < 0) throw new Error(`README has no settings table "${name}"`)
  const rows = new Map<string, string>()
  let inTable = false
  for (const line of readme.slice(start).split("\n").slice(1)) {
    if (!line.startsWith("|")) {
      if (inTable) break
      continue
    }
    inTable = true
    const cells = line.split("|").map((cell) => cell.trim())
    const variable = /^`([A-Z0-9_]+)`$/.exec(cells[1] ?? "")?.[1]
    if (variable === undefined) continue
    const value = cells[2] ?? ""
    rows.set(variable, value === "—" ? "" : value.replace(/^`|`$/g, ""))
  }
  return rows
}
