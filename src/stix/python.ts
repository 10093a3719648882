import { numericValue } from "./untrustedJson.js"

/**
 * The few Python semantics the reference connector relies on, reproduced exactly: `str.strip()`,
 * `str.lower()`, truthiness of JSON values and string ordering.
 */

/** Python's whitespace; JS `trim()` differs: it strips U+FEFF and keeps U+001C-U+001F and U+0085. */
const PYTHON_WHITESPACE: ReadonlySet<number> = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000
])

const isPythonWhitespace = (text: string, index: number): boolean =>
  PYTHON_WHITESPACE.has(text.charCodeAt(index))

/** Python `str.strip()` without arguments. Every stripped code point is in the BMP, so code units suffice. */
export const pythonStrip = (text: string): string => {
  let start = 0
  let end = text.length
  while (start < end && isPythonWhitespace(text, start)) start++
  while (end > start && isPythonWhitespace(text, end - 1)) end--
  return start === 0 && end === text.length ? text : text.slice(start, end)
}

/** Python `str.lower()`: full Unicode case mapping, which `toLowerCase` implements too (`İ` -> `i̇`, final sigma). */
export const pythonLower = (text: string): string => text.toLowerCase()

/** Python truthiness of a JSON value: `None`, `False`, `0`, `""`, `[]` and `{}` are false. */
export const isPythonTruthy = (json: unknown): boolean => {
  const value = numericValue(json)
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value === "object") return Object.keys(value).length > 0
  return true
}

/** Python string ordering: by code point, where JS `<` compares UTF-16 code units. */
export const comparePythonStrings = (left: string, right: string): number => {
  const length = Math.min(left.length, right.length)
  for (let index = 0; index < length; index++) {
    const a = left.codePointAt(index) ?? 0
    const b = right.codePointAt(index) ?? 0
    if (a !== b) return a - b
    if (a > 0xffff) index++
  }
  return left.length - right.length
}
