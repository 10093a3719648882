import { Result, Schema } from "effect"

/**
 * JSON from outside (bundle files, live stream events) read so that nothing in it is changed or can
 * crash the code that walks it:
 *
 * - a number whose text a double would change (`12345678901234567890`, `1e400`, `-0`, `1.0`) is kept
 *   as its text, a raw JSON value that `JSON.stringify` writes back unchanged;
 * - nesting deeper than `maxDepth` is refused (recursive code, `JSON.stringify` among it, overflows
 *   the stack a few thousand levels down), and so are duplicate member names (`JSON.parse` would keep
 *   the last one silently) and members named `__proto__` (an assignment would set the prototype
 *   instead of the member);
 * - trailing text, NaN and Infinity are refused by `JSON.parse` itself.
 */
export class UntrustedJsonError extends Schema.TaggedError<UntrustedJsonError>()("UntrustedJsonError", {
  message: Schema.String
}) {}

/** Python's `json` stops near 1,000 levels (its recursion limit); no STIX content comes close. */
export const maxDepth = 1000

/** Node 22 has `JSON.rawJSON`, `JSON.isRawJSON` and the reviver's source text; TypeScript's ES2023 library does not declare them yet. */
interface SourceTextJson {
  readonly parse: (text: string, reviver: (this: unknown, key: string, value: unknown, context: { readonly source?: string }) => unknown) => unknown
  readonly rawJSON: (text: string) => unknown
  readonly isRawJSON: (value: unknown) => boolean
}
const sourceTextJson = JSON as unknown as SourceTextJson

/** The number a JSON value stands for when it is a number or a number kept as text; the value itself otherwise (for comparisons by value). */
export const numericValue = (value: unknown): unknown =>
  sourceTextJson.isRawJSON(value) ? Number((value as { readonly rawJSON: string }).rawJSON) : value

const exactNumber = (_key: string, value: unknown, context: { readonly source?: string }): unknown =>
  typeof value === "number" && context.source !== undefined && String(value) !== context.source ? sourceTextJson.rawJSON(context.source) : value

interface Shape {
  readonly members: number
  readonly inexactNumbers: boolean
  readonly problem: string | undefined
}

const code = (character: string): number => character.charCodeAt(0)
const QUOTE = code("\""), BACKSLASH = code("\\"), COLON = code(":"), MINUS = code("-"), ZERO = code("0"), NINE = code("9")
const OPENING: ReadonlySet<number> = new Set([code("{"), code("[")])
const CLOSING: ReadonlySet<number> = new Set([code("}"), code("]")])
const NUMBER_CHARACTERS: ReadonlySet<number> = new Set([..."0123456789+-.eE"].map(code))
const SPACES: ReadonlySet<number> = new Set([..." \t\n\r"].map(code))

/** The end (closing quote) of the string starting at `start`, or -1. */
const stringEnd = (text: string, start: number): number => {
  let end = text.indexOf("\"", start + 1)
  while (end !== -1) {
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf("\"", end + 1)
  }
  return -1
}

/** The value of a string literal with escapes, or undefined when it is not one. */
const safeString = (literal: string): unknown => {
  try {
    return JSON.parse(literal)
  } catch {
    return undefined
  }
}

/**
 * One pass over the text outside its strings: member names counted (duplicates show as fewer members
 * parsed than written), depth bounded before anything recursive runs, and whether a number's text
 * would change through a double. Text that is not JSON at all is left to `JSON.parse` to name.
 */
const scan = (text: string): Shape => {
  let depth = 0
  let members = 0
  let inexactNumbers = false
  for (let index = 0; index < text.length; index++) {
    const current = text.charCodeAt(index)
    if (current === QUOTE) {
      const end = stringEnd(text, index)
      if (end === -1) break
      let next = end + 1
      while (SPACES.has(text.charCodeAt(next))) next++
      if (text.charCodeAt(next) === COLON) {
        members++
        const name = text.slice(index, end + 1)
        if (name === "\"__proto__\"" || (name.includes("\\") && safeString(name) === "__proto__")) {
          return { members, inexactNumbers, problem: "a member is named __proto__" }
        }
      }
      index = end
    } else if (OPENING.has(current)) {
      if (++depth > maxDepth) return { members, inexactNumbers, problem: `it is nested deeper than ${maxDepth} levels` }
    } else if (CLOSING.has(current)) {
      depth--
    } else if (current === MINUS || (current >= ZERO && current <= NINE)) {
      let end = index + 1
      while (end < text.length && NUMBER_CHARACTERS.has(text.charCodeAt(end))) end++
      const number = text.slice(index, end)
      if (!inexactNumbers && String(Number(number)) !== number) inexactNumbers = true
      index = end - 1
    }
  }
  return { members, inexactNumbers, problem: undefined }
}

/** How many members the objects of a parsed value hold, all levels down. */
const countMembers = (value: unknown): number => {
  let count = 0
  const pending: Array<unknown> = [value]
  while (pending.length > 0) {
    const current = pending.pop()
    if (typeof current !== "object" || current === null || sourceTextJson.isRawJSON(current)) continue
    if (Array.isArray(current)) {
      for (const item of current) pending.push(item)
    } else {
      const members = Object.values(current)
      count += members.length
      for (const member of members) pending.push(member)
    }
  }
  return count
}

/** Parses untrusted JSON text exactly, or says why it cannot be read safely. */
export const parseUntrusted = (text: string): Result.Result<unknown, UntrustedJsonError> => {
  const shape = scan(text)
  if (shape.problem !== undefined) return Result.fail(new UntrustedJsonError({ message: `not a JSON document this connector reads: ${shape.problem}` }))
  let value: unknown
  try {
    value = shape.inexactNumbers ? sourceTextJson.parse(text, exactNumber) : JSON.parse(text)
  } catch (cause) {
    return Result.fail(new UntrustedJsonError({ message: `not a JSON document: ${String(cause)}` }))
  }
  return countMembers(value) === shape.members
    ? Result.succeed(value)
    : Result.fail(new UntrustedJsonError({ message: "not a JSON document this connector reads: an object holds the same member name twice" }))
}

/** A deep copy of parsed JSON that keeps numbers kept as text (`structuredClone` would turn them into plain objects). */
export const cloneJson = <A>(value: A): A => {
  if (typeof value !== "object" || value === null || sourceTextJson.isRawJSON(value)) return value
  if (Array.isArray(value)) return value.map(cloneJson) as A
  const copy: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(value)) copy[key] = cloneJson(member)
  return copy as A
}
