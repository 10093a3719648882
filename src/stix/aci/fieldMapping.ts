import { Predicate } from "effect"
import { numericValue } from "../untrustedJson.js"
import type { StixObject } from "../Bundle.js"
import { isPythonTruthy, pythonStrip } from "../python.js"

/** ACI keys the transformation knows; any other `x_` key is reported. */
const MAPPED_KEYS: ReadonlySet<string> = new Set([
  "x_severity", "x_alias", "x_title", "x_analysis", "x_cvss_v3", "x_cvss_v3_vector", "x_wormable",
  "x_zero_day", "x_notable_vuln", "x_name", "x_cwe", "x_cvss_v2", "x_cvss_v2_vector",
  "x_cvss_v2_temporal_score", "x_cvss_v3_temporal_score", "x_first_seen_active", "x_history",
  "x_acti_uuid", "x_product", "x_and_prior_versions", "x_credit"
])

const IGNORED_KEYS: ReadonlySet<string> = new Set(["x_acti_guid", "x_version", "x_vendor", "x_opencti_files"])

/** The input's custom keys nobody maps, in key order (`x_description` included, as the reference reports it). */
export const unmappedCustomKeys = (object: StixObject): ReadonlyArray<string> =>
  Object.keys(object).filter((key) => key.startsWith("x_") && !MAPPED_KEYS.has(key) && !IGNORED_KEYS.has(key))

/** Boolean flags that add a label, in the order labels are appended. */
export const LABEL_FLAGS: ReadonlyArray<readonly [flag: string, label: string]> = [
  ["x_wormable", "wormable"],
  ["x_zero_day", "zero-day"],
  ["x_notable_vuln", "notable-vuln"],
  ["x_and_prior_versions", "and-prior-versions"]
]

/** Keys copied as they are whenever present, whatever the value (`0` and `null` included). */
const COPIED_KEYS: ReadonlyArray<readonly [from: string, to: string]> = [
  ["x_cvss_v2", "x_opencti_cvss_v2_base_score"],
  ["x_cvss_v2_temporal_score", "x_opencti_cvss_v2_temporal_score"],
  ["x_cvss_v2_vector", "x_opencti_cvss_v2_vector_string"],
  ["x_cvss_v3", "x_opencti_cvss_base_score"],
  ["x_cvss_v3_temporal_score", "x_opencti_cvss_temporal_score"],
  ["x_cvss_v3_vector", "x_opencti_cvss_vector_string"]
]

/** Vulnerability severities 1-5 by Python equality, so `true` is 1 and `4.0` is 4. */
const VULNERABILITY_SCORES: ReadonlyMap<unknown, number> = new Map([[1, 20], [2, 40], [3, 60], [4, 80], [5, 100]])

const OTHER_SCORES: ReadonlyMap<unknown, number> = new Map([["high", 90], ["medium", 60], ["low", 30]])

const scoreOf = (object: StixObject): number | undefined => {
  const severity = object["x_severity"]
  return object.type === "vulnerability"
    ? VULNERABILITY_SCORES.get(severity === true ? 1 : numericValue(severity))
    : OTHER_SCORES.get(severity)
}

const X_OPENCTI_ALIASES_TYPES: ReadonlySet<string> = new Set([
  "course-of-action", "vulnerability", "grouping", "identity", "location"
])

/** pycti's `resolve_aliases_field`. */
const aliasesField = (type: string): string =>
  X_OPENCTI_ALIASES_TYPES.has(type.toLowerCase()) ? "x_opencti_aliases" : "aliases"

const asList = (value: unknown): ReadonlyArray<unknown> => Array.isArray(value) ? value : [value]

const INVISIBLE_CHARACTERS = /[\u200b\u200c\u200d\u200e\u200f\ufeff\u00a0\u2060\u2061\u2062\u2063\u2064]/g

/** Invisible characters break URLs on the platform; anything that is not a non-empty string is left alone. */
const sanitizeUrl = (url: unknown): unknown =>
  Predicate.isString(url) && url !== "" ? pythonStrip(url.replace(INVISIBLE_CHARACTERS, "")) : url

const sanitizeReference = (reference: unknown): unknown =>
  Predicate.isObject(reference) && Object.hasOwn(reference, "url")
    ? { ...reference, url: sanitizeUrl(reference["url"]) }
    : reference

const appended = (list: unknown, item: unknown): ReadonlyArray<unknown> => [
  ...(Array.isArray(list) ? list : []),
  item
]

/** The ACI custom keys translated to what OpenCTI understands; the source keys are kept. */
export const mapFields = (object: StixObject): StixObject => {
  const fields: Record<string, unknown> = {}
  const has = (key: string) => Object.hasOwn(object, key)
  if (Array.isArray(object["external_references"])) {
    fields["external_references"] = object["external_references"].map(sanitizeReference)
  }
  if (has("x_severity")) {
    const score = scoreOf(object)
    if (score !== undefined) fields["x_opencti_score"] = score
  }
  if (has("x_alias")) fields[aliasesField(object.type)] = asList(object["x_alias"])
  for (const [from, to] of COPIED_KEYS) {
    if (has(from)) fields[to] = object[from]
  }
  if (has("x_cwe")) fields["x_opencti_cwe"] = asList(object["x_cwe"])
  if (has("x_first_seen_active")) fields["x_opencti_first_seen_active"] = object["x_first_seen_active"]
  if (has("x_description")) fields["x_opencti_description"] = object["x_description"]
  for (const [flag, label] of LABEL_FLAGS) {
    if (isPythonTruthy(object[flag])) fields["labels"] = appended(fields["labels"] ?? object["labels"], label)
  }
  if (has("x_product")) fields["x_opencti_product"] = object["x_product"]
  if (has("x_acti_uuid")) {
    fields["external_references"] = appended(
      fields["external_references"] ?? object["external_references"],
      { source_name: "ACTI UUID", external_id: object["x_acti_uuid"] }
    )
  }
  return { ...object, ...fields }
}
